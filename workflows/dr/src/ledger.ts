// The drill's own account of every acknowledged write, on the wall clock PostgreSQL's recovery
// targets use: when each write was sent and when it was acknowledged. Judged against what a
// restored cluster holds, it gives the RPO (how much acknowledged data is gone, in time: from
// the oldest lost write to the last one acknowledged before the disaster or the target) and the exactness of a point-in-time restore (nothing
// sent after the target is present).
import type { Probe } from '@resilience/fixtures';

export interface LedgerEntry {
  readonly id: string;
  readonly probe: string;
  /** Epoch ms: the operation's intended start (it was sent no earlier). */
  readonly sentAt: number;
  /** Epoch ms: when its acknowledgement arrived. */
  readonly ackAt: number;
}

/** Acknowledged writes of several probes, recorded from their samples. */
export class AckLedger {
  readonly entries: LedgerEntry[] = [];
  /** Epoch ms minus run-clock ms, fixed when the ledger is made (both clocks advance together). */
  readonly #offset: number;

  constructor(runNow: () => number) {
    this.#offset = Date.now() - runNow();
  }

  /** Records the probe's acknowledged writes from now on; returns the unsubscribe function. */
  follow(probe: Probe): () => void {
    return probe.subscribe((s) => {
      if (s.ok && s.writeId !== undefined) this.entries.push({ id: s.writeId, probe: s.probe, sentAt: s.intended + this.#offset, ackAt: s.completed + this.#offset });
    });
  }

  /** A run-clock time as epoch ms. */
  epoch(runMs: number): number {
    return runMs + this.#offset;
  }
}

/** How a restored state compares with the acknowledged writes, around a cutoff (epoch ms). */
export interface WriteJudgement {
  /** Acknowledged before the cutoff and missing: lost. */
  readonly lost: number;
  /** Ids of the lost (first 20, oldest first). */
  readonly lostIds: readonly string[];
  /** When the oldest lost write was acknowledged (epoch ms); undefined when none was lost. */
  readonly oldestLostAckAt: number | undefined;
  /**
   * The acknowledged data lost, in time (ms): from the sending of the oldest lost write to the
   * last acknowledgement before the cutoff; 0 exactly when none was lost (at least 1 when one was).
   */
  readonly rpoMs: number;
  /** Sent after the cutoff and present: a point-in-time restore went past its target. */
  readonly afterCutoffPresent: number;
  readonly afterCutoffPresentIds: readonly string[];
  /**
   * Acknowledged after the cutoff and missing: discarded by a point-in-time restore, as it
   * should. A straddling write that is missing is counted here too: it committed after the
   * cutoff, so the restore rightly left it out (every missing write acknowledged after the
   * cutoff is in this count, and the write check's count of missing writes equals lost plus it).
   */
  readonly discarded: number;
  /** Sent before and acknowledged after the cutoff: present or missing, either outcome is right (the missing ones are also in `discarded`). */
  readonly straddling: number;
  /** Acknowledged before the cutoff and present. */
  readonly kept: number;
  /** Lost writes acknowledged before a kept one: a hole, not a lost tail (a restore replays WAL in order, so there should be none). */
  readonly holes: number;
}

/**
 * `cutoff`: the disaster, or a point-in-time target; `until`: when the old cluster stopped
 * taking writes (destroyed for the restore; default the cutoff). Writes sent after `until` went
 * to the restored cluster and are not judged.
 */
export function judgeWrites(entries: readonly LedgerEntry[], present: ReadonlySet<string>, cutoff: number, until: number = cutoff): WriteJudgement {
  const lost: LedgerEntry[] = [];
  const after: LedgerEntry[] = [];
  let discarded = 0;
  let straddling = 0;
  let kept = 0;
  let lastKept = -Infinity;
  let lastAck = -Infinity;
  for (const e of entries) {
    if (e.sentAt > until) continue;
    if (e.ackAt <= cutoff) {
      lastAck = Math.max(lastAck, e.ackAt);
      if (present.has(e.id)) {
        kept++;
        lastKept = Math.max(lastKept, e.ackAt);
      } else lost.push(e);
    } else {
      if (e.sentAt <= cutoff) straddling++;
      if (!present.has(e.id)) discarded++;
      else if (e.sentAt > cutoff) after.push(e);
    }
  }
  lost.sort((a, b) => a.ackAt - b.ackAt);
  return {
    lost: lost.length,
    lostIds: lost.slice(0, 20).map((e) => e.id),
    oldestLostAckAt: lost[0]?.ackAt,
    rpoMs: lost.length ? Math.max(1, Math.round(lastAck - Math.min(...lost.map((e) => e.sentAt)))) : 0,
    afterCutoffPresent: after.length,
    afterCutoffPresentIds: after.slice(0, 20).map((e) => e.id),
    discarded,
    straddling,
    kept,
    holes: lost.filter((e) => e.ackAt < lastKept).length,
  };
}
