/**
 * The day ahead on /metrics (src/forecast/): per daily cap, the forecast demand against what the
 * cap holds, over the next hour and until the reset, and how long until the projection says it
 * runs out. Read from the forecaster's last refit when scraped.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Clock, GatewayView } from './view.js';

export function registerForecastMetrics(registry: Registry, view: GatewayView, clock: Clock): void {
  const registers = [registry];
  const forecast: Gauge<'pool' | 'kind' | 'unit' | 'horizon' | 'series'> = new Gauge({
    name: 'spillway_quota_forecast',
    help: 'Forecast demand against capacity of a daily cap (kind: pool rpd in requests, tenant daily budget in USD), over the next hour and until the reset',
    labelNames: ['pool', 'kind', 'unit', 'horizon', 'series'],
    registers,
    collect() {
      forecast.reset();
      for (const f of view.forecasts?.() ?? []) {
        const labels = { pool: f.name, kind: f.kind, unit: f.unit };
        forecast.set({ ...labels, horizon: 'hour', series: 'demand' }, f.demandNextHour);
        forecast.set({ ...labels, horizon: 'hour', series: 'capacity' }, f.capacityNextHour);
        forecast.set({ ...labels, horizon: 'day', series: 'demand' }, f.demandUntilReset);
        forecast.set({ ...labels, horizon: 'day', series: 'capacity' }, f.capacityUntilReset);
        if (f.batchPerMinute !== undefined) forecast.set({ ...labels, horizon: 'minute', series: 'batch_allowance' }, f.batchPerMinute);
      }
    },
  });
  const exhaustion: Gauge<'pool' | 'kind'> = new Gauge({
    name: 'spillway_quota_exhaustion_seconds',
    help: 'Seconds until a daily cap is projected to run out; absent while it is projected to last until its reset',
    labelNames: ['pool', 'kind'],
    registers,
    collect() {
      exhaustion.reset();
      const now = clock.now();
      for (const f of view.forecasts?.() ?? []) {
        if (f.exhaustAt !== undefined) exhaustion.set({ pool: f.name, kind: f.kind }, Math.max(0, (f.exhaustAt - now) / 1000));
      }
    },
  });
}
