// The director's view of the ward: the pool by state, each signer's load and who among them is
// locked out or away while holding records, the director's share, the on-time rate, wait
// percentiles, and the backlog over the last 24 hours as the scheduler counts it from its store
// (so the line is whole as soon as the screen opens), every time in ward time.

import { useEffect, useState } from "preact/hooks";
import { admin, CALL_TIMEOUT_MS, explain, isTransient } from "../api";
import { clock, dateTime, millis, percent, seconds, shortDuration } from "../format";
import type { SignerInfo, Statistics } from "../gen/signq/v1/admin_pb";
import { SignerRole } from "../gen/signq/v1/delegation_pb";
import { useWords } from "../i18n";
import type { SessionInfo } from "../session";
import { BarChart, LineChart, Meter } from "../ui/Charts";
import { StuckSigners } from "./StuckSigners";

const REFRESH_MS = 10_000;

export function Ward(props: { session: SessionInfo; onOffline: () => void }) {
  const { t, lang } = useWords();
  const ward = props.session.ward;
  const [stats, setStats] = useState<Statistics | null>(null);
  const [signers, setSigners] = useState<SignerInfo[]>([]);
  const [updated, setUpdated] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    async function refresh() {
      try {
        const [reply, l] = await Promise.all([
          admin.getStatistics({ ward }, { timeoutMs: CALL_TIMEOUT_MS }),
          admin.listSigners({ ward }, { timeoutMs: CALL_TIMEOUT_MS }),
        ]);
        if (!live || !reply.statistics) return;
        setStats(reply.statistics);
        setSigners(l.signers);
        setUpdated(Date.now());
        setError(null);
      } catch (e) {
        if (!live) return;
        if (isTransient(e)) props.onOffline();
        else setError(explain(t, e));
      }
    }
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [ward]);

  const roleName = (s: SignerInfo) =>
    s.role === SignerRole.DIRECTOR ? t.director : s.role === SignerRole.CLERK ? t.clerk : t.deputy;
  const history = stats?.backlogHistory ?? [];
  return (
    <main class="ward" data-testid="ward">
      <p class="muted">{updated ? t.updatedAt(clock(lang, updated)) : t.connecting}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {stats && (
        <div class="tiles">
          <Meter
            title={t.directorShare}
            ratio={stats.directorShare}
            text={percent(lang, stats.directorShare)}
            warnAbove={0.3}
            testId="director-share"
          />
          <Meter
            title={t.onTime}
            ratio={stats.signed > 0 ? stats.onTimeRatio : null}
            text={stats.signed > 0 ? percent(lang, stats.onTimeRatio) : t.none}
            warnBelow={0.95}
            testId="on-time"
          />
          <figure class="meter">
            <figcaption>{t.oldestWaiting}</figcaption>
            <div class="meter-value">
              {stats.queued > 0 ? shortDuration(t, seconds(stats.oldestQueuedAge)) : t.none}
            </div>
          </figure>
        </div>
      )}
      <div class="charts">
        {stats && (
          <BarChart
            title={t.pool}
            testId="chart-pool"
            categories={[t.queued, t.leased, t.signed, t.rejectedState, t.cancelled]}
            series={[
              {
                label: t.pool,
                values: [stats.queued, stats.leased, stats.signed, stats.rejected, stats.cancelled],
              },
            ]}
          />
        )}
        <BarChart
          title={t.signersLoad}
          testId="chart-signers"
          categories={signers.map((s) => `${s.displayName} (${roleName(s)}${s.away ? `, ${t.away}` : ""})`)}
          series={[
            { label: t.holding, values: signers.map((s) => s.leased) },
            { label: t.signedToday, values: signers.map((s) => s.signedToday) },
          ]}
        />
        <StuckSigners signers={signers} now={updated ?? 0} roleName={roleName} />
        {stats && (
          <BarChart
            title={t.waitPercentiles}
            testId="chart-wait"
            categories={[t.waitHalf, t.waitNine, t.waitNinetyNine]}
            series={[
              {
                label: t.waitPercentiles,
                values: [stats.waitP50, stats.waitP90, stats.waitP99].map(seconds),
              },
            ]}
            format={(v) => shortDuration(t, v)}
          />
        )}
        <LineChart
          title={t.backlogOverTime}
          testId="chart-backlog"
          times={history.map((p) => dateTime(lang, millis(p.at)))}
          series={[{ label: t.wardWaiting, values: history.map((p) => p.waiting) }]}
        />
      </div>
    </main>
  );
}
