// The API shapes the dashboard reads (the server's repo-server/http/wire.ts, the fields used).

export type Weights = Record<string, number>;
export interface Traffic { Active: string | null; Weights: Weights }
export interface Unit { Node: string; Address: string; Port: number; Color: string; Version: string; Health: string; LastSeen: string; Alive: boolean }
export interface Summary { Name: string; Active: string | null; Weights: Weights; Units: number }
export interface Service extends Traffic { Name: string; Units: Unit[]; MinHealthy: number | null }
export interface GateUnit { Node: string; Alive: boolean; Reported: string; Probe: string; Detail?: string }
export interface Gate { Color: string; Required: number; Healthy: number; Passed: boolean; Units: GateUnit[] }
export interface SwapRecord { Id: number; Kind: string; User: string; Finished: string; To: string; Strategy: string; Result: string; Reason?: string }
export interface Preview { Kind: string; To: string; Strategy: string; From: Traffic; Steps: Array<{ Weight: number; Traffic: Traffic }>; Gate: Gate | null; Passed: boolean; Reason?: string }
export interface Repo { Name: string; Comment: string; DefaultDistribution: string; DefaultComponent: string }
export interface Snapshot { Name: string; CreatedAt: string; Description: string }
/** `x-debpkg`: the server's own field beside aptly's: the live generation and its Release Date. */
export interface Publish { Prefix: string; Distribution: string; SourceKind: string; Sources: Array<{ Component: string; Name: string }>; SignedBy: string; Architectures: string[]; 'x-debpkg'?: { Generation: number; Date: string | null } }
