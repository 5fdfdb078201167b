/** Display formatting of times and identifiers. Pure. */

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** A unix-ms time as local "YYYY-MM-DD HH:MM", or "—" when not a valid time. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A long hex id shortened to its first and last `keep` characters: "02ab12…9f3c". */
export function shortId(id: string, keep = 6): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`;
}

/** "in 59 min" / "in 30 s" / "expired" for a deadline `at` seen at `now` (both unix ms). */
export function timeLeft(at: number, now: number): string {
  const s = Math.floor((at - now) / 1000);
  if (s <= 0) return "expired";
  if (s < 120) return `in ${s} s`;
  if (s < 7200) return `in ${Math.floor(s / 60)} min`;
  return `in ${Math.floor(s / 3600)} h`;
}
