// Strategies are data: a list of traffic steps (percent on the target color) and a wait
// between them. One engine runs them all.

import { Invalid } from '../model/errors.js';

export const STRATEGIES = ['redblack', 'canary', 'rolling'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface SwapPlanInput {
  strategy?: string;
  weight?: number;
  steps?: number[];
  waitMs?: number;
}

export interface SwapPlan {
  strategy: Strategy;
  steps: number[];
  waitMs: number;
}

export function planSwap(input: SwapPlanInput): SwapPlan {
  const strategy = (input.strategy ?? 'redblack') as Strategy;
  if (!(STRATEGIES as readonly string[]).includes(strategy)) throw new Invalid(`Strategy must be one of ${STRATEGIES.join(', ')}`);
  const waitMs = input.waitMs ?? 0;
  if (strategy === 'redblack') {
    if (input.weight !== undefined || input.steps !== undefined) throw new Invalid('Strategy redblack takes neither Weight nor Steps');
    return { strategy, steps: [100], waitMs };
  }
  if (strategy === 'canary') {
    if (input.steps !== undefined) throw new Invalid('Strategy canary takes Weight, not Steps');
    const w = input.weight ?? 10;
    if (!Number.isInteger(w) || w < 1 || w > 99) throw new Invalid('Weight must be an integer 1-99 (percent of traffic on the canary color)');
    return { strategy, steps: [w], waitMs };
  }
  if (input.weight !== undefined) throw new Invalid('Strategy rolling takes Steps, not Weight');
  const steps = input.steps ?? [10, 50, 100];
  if (steps.length === 0 || steps.some((s, i) => !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= steps[i - 1]!))) {
    throw new Invalid('Steps must be ascending integers 1-100, e.g. [10, 50, 100]');
  }
  return { strategy, steps, waitMs };
}
