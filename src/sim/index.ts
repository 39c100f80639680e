/** spillway's provider simulator: Anthropic, OpenAI, Gemini and Ollama look-alikes with per-key rate limits. */
export type { SimLimits, SimKey, SimOptions, SimKeyStats, SimStats, Simulator, SimWindow, SimBucketSize, OtpmMode, SimLatency, SimFaults } from './options.js';
export type { MergeBehaviour } from './merged.js';
export type { SimRateWindow, SimWindowType } from './window.js';
export { startSimulator, OLLAMA_STATS_ID } from './server.js';
export { loadSimConfig } from './config.js';
