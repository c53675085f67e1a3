// Dates, durations and percentages as people in the ward read them: ward time (Asia/Ho_Chi_Minh),
// the chosen language, and "time left" that counts down while the screen is open.

import { useEffect, useState } from "preact/hooks";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { locale, type Lang, type Words } from "./i18n";

const WARD_TIME_ZONE = "Asia/Ho_Chi_Minh";
/** Vietnam keeps UTC+7 all year (no daylight saving). */
const WARD_UTC_OFFSET = "+07:00";

/** Milliseconds since the epoch of a protobuf timestamp (0 when absent). */
export function millis(ts: Timestamp | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

/** Seconds of a protobuf duration (0 when absent). */
export function seconds(d: Duration | undefined): number {
  return d ? Number(d.seconds) + d.nanos / 1e9 : 0;
}

const formats = {
  dateTime: { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" },
  due: {
    weekday: "short",
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  },
  date: { day: "2-digit", month: "2-digit", year: "numeric" },
  clock: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
  hourMinute: { hour: "2-digit", minute: "2-digit" },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

// Building a formatter costs far more than using one, and a list re-renders often: keep them.
const formatters = new Map<string, Intl.DateTimeFormat>();

function format(lang: Lang, kind: keyof typeof formats, ms: number): string {
  const key = `${lang}/${kind}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(lang), { timeZone: WARD_TIME_ZONE, hour12: false, ...formats[kind] });
    formatters.set(key, f);
  }
  return f.format(ms);
}

/** A date and time in ward time, e.g. "21/11 14:05". */
export function dateTime(lang: Lang, ms: number): string {
  return format(lang, "dateTime", ms);
}

/** A deadline in ward time as a date with its weekday, e.g. "T2, 30/11/2026, 17:00". */
export function due(lang: Lang, ms: number): string {
  return format(lang, "due", ms);
}

/** A calendar date in ward time, with the year, e.g. "22/11/2026". */
export function date(lang: Lang, ms: number): string {
  return format(lang, "date", ms);
}

/** A clock time in ward time, e.g. "14:05:09". */
export function clock(lang: Lang, ms: number): string {
  return format(lang, "clock", ms);
}

/** A time of day in ward time, hours and minutes, e.g. "14:05". */
export function hourMinute(lang: Lang, ms: number): string {
  return format(lang, "hourMinute", ms);
}

/** The calendar date (YYYY-MM-DD) in ward time, for date inputs. */
export function wardDate(ms: number): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: WARD_TIME_ZONE }).format(ms);
}

/** The first instant of a ward date (YYYY-MM-DD). */
export function wardDayStart(day: string): Date {
  return new Date(`${day}T00:00:00${WARD_UTC_OFFSET}`);
}

/** The last second of a ward date (YYYY-MM-DD). */
export function wardDayEnd(day: string): Date {
  return new Date(`${day}T23:59:59${WARD_UTC_OFFSET}`);
}

/** A span of working time in working days (as long as the ward's office hours) and hours, e.g.
 * "2 ngày 3 giờ" or "4 giờ 30 phút". */
export function workingSpan(t: Words, ms: number, dayMs: number): string {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60_000));
  const dayMinutes = Math.max(1, Math.round(dayMs / 60_000));
  const days = Math.floor(minutes / dayMinutes);
  const hours = Math.floor((minutes % dayMinutes) / 60);
  const mins = (minutes % dayMinutes) % 60;
  if (days > 0)
    return hours > 0 ? `${days} ${t.workingDays} ${hours} ${t.hours}` : `${days} ${t.workingDays}`;
  if (hours > 0) return `${hours} ${t.hours} ${mins} ${t.minutes}`;
  return `${mins} ${t.minutes}`;
}

/** A span of time in the largest two units, e.g. "2 giờ 5 phút" or "3 d 4 h". */
export function span(t: Words, ms: number): string {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days} ${t.days} ${hours} ${t.hours}`;
  if (hours > 0) return `${hours} ${t.hours} ${mins} ${t.minutes}`;
  return `${mins} ${t.minutes}`;
}

/** Time left as a countdown, minutes and seconds ("04:59"; "00:00" once past). */
export function countdown(ms: number): string {
  const secs = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(secs / 60)).padStart(2, "0")}:${String(secs % 60).padStart(2, "0")}`;
}

/** A number of seconds as a short duration ("45 s", "12 min", "3.5 h"). */
export function shortDuration(t: Words, secs: number): string {
  if (secs < 60) return `${Math.round(secs)} ${t.seconds}`;
  if (secs < 3600) return `${Math.round(secs / 60)} ${t.minutes}`;
  if (secs < 86_400) return `${(secs / 3600).toFixed(1)} ${t.hours}`;
  return `${(secs / 86_400).toFixed(1)} ${t.days}`;
}

/** A ratio (0..1) as a percentage in the chosen language. */
export function percent(lang: Lang, ratio: number): string {
  return new Intl.NumberFormat(locale(lang), { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}

/** The current time, refreshed every `everyMs` so countdowns move while the screen is open. */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
