/**
 * Weighted routes: traffic split by weight among the targets that have room now. When none has
 * room the configured order stands and admission waits or spills as for `spill`.
 */

/**
 * An order of target indexes: one drawn by weight among those with room first, then the others
 * with room (heaviest first), then the ones without room in config order. `random` in [0, 1).
 */
export function weightedOrder(weights: number[], hasRoom: boolean[], random: () => number): number[] {
  const roomy = weights.map((_, i) => i).filter((i) => hasRoom[i] && weights[i]! > 0);
  const rest = weights.map((_, i) => i).filter((i) => !roomy.includes(i));
  if (roomy.length === 0) return rest;
  const total = roomy.reduce((sum, i) => sum + weights[i]!, 0);
  let draw = random() * total;
  let chosen = roomy[roomy.length - 1]!;
  for (const i of roomy) {
    draw -= weights[i]!;
    if (draw < 0) {
      chosen = i;
      break;
    }
  }
  const others = roomy.filter((i) => i !== chosen).sort((a, b) => weights[b]! - weights[a]!);
  return [chosen, ...others, ...rest];
}
