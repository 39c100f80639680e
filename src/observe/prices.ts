/**
 * What a request cost: a price table per model (USD per million tokens), the config's overrides on
 * top. Model names often carry a date or tag suffix (claude-sonnet-4-5-20250929, gpt-4o-2024-08-06),
 * so a name without an exact entry takes the entry that is its longest prefix.
 */

export interface Price {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
}

export type PriceTable = Readonly<Record<string, Price>>;

/** List prices as published by the providers; override or extend them under `prices:` in config. */
export const BUILTIN_PRICES: PriceTable = {
  'claude-opus-4-6': { input: 5, output: 25 },
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o4-mini': { input: 1.1, output: 4.4 },
  // Embedding models: input only.
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'gemini-embedding-001': { input: 0.15, output: 0 },
};

/** The built-in table with the config's entries replacing or adding models. */
export function priceTable(overrides: Readonly<Record<string, Price>> = {}): PriceTable {
  return { ...BUILTIN_PRICES, ...overrides };
}

/** The price of a model: its exact entry, else the longest entry that prefixes it at a '-' or ':' boundary. */
export function priceOf(table: PriceTable, model: string): Price | undefined {
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (model.length > name.length && model.startsWith(name) && (model[name.length] === '-' || model[name.length] === ':')) {
      if (best === undefined || name.length > best.length) best = name;
    }
  }
  return best === undefined ? undefined : table[best];
}

/** USD for the tokens, or undefined when the model has no price. */
export function costOf(table: PriceTable, model: string, inputTokens: number, outputTokens: number): number | undefined {
  const price = priceOf(table, model);
  if (!price) return undefined;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
