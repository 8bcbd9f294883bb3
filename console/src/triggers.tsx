/**
 * Triggers (Lambda functions invoked with a topic's records): status, and per partition the
 * position, lag and last error. A service without triggers answers 404: the page says so.
 */
import { isApiError, logway, type Trigger } from './api';
import { formatCount } from './format';
import { topicHref, triggerHref } from './router';
import { ErrorBanner, PageHeader, RefreshButton, useLoad, numeric, TableHead } from './ui';

/** The route is missing (404 NOT_FOUND, or API Gateway's `{message:"Not Found"}`), not a trigger. */
export const triggersUnavailable = (error: unknown): boolean =>
  isApiError(error) && error.status === 404 && (error.code === 'NOT_FOUND' || error.code === 'HTTP_404');

const statusOf = (t: Trigger): string =>
  typeof t.state === 'string'
    ? t.state
    : typeof t.status === 'string'
      ? t.status
      : t.enabled === false
        ? 'Disabled'
        : t.enabled === true
          ? 'Enabled'
          : '—';

function Unavailable() {
  return (
    <div class="notice" role="note">
      <strong>Triggers are not available on this service.</strong> It does not answer <code>GET /v1/triggers</code>; a version of Logway
      with triggers shows them here.
    </div>
  );
}

function errorText(error: unknown): string {
  if (error === undefined || error === null) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof message === 'string') return typeof code === 'string' ? `${code}: ${message}` : message;
  }
  return JSON.stringify(error);
}

export function TriggersPage() {
  const triggers = useLoad(() => logway.listTriggers(), []);
  const unavailable = triggersUnavailable(triggers.error);
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Triggers">
        <RefreshButton loaded={triggers} />
      </PageHeader>
      {unavailable ? <Unavailable /> : <ErrorBanner error={triggers.error} />}
      {triggers.data && triggers.data.triggers.length === 0 ? <p class="empty">No triggers.</p> : null}
      {triggers.data?.triggers.length ? (
        <table class="data" aria-label="Triggers">
          <TableHead columns={['Name', 'Status', 'Topic', 'Function']} />
          <tbody>
            {triggers.data.triggers.map((t) => (
              <tr key={t.name}>
                <th scope="row">
                  <a href={triggerHref(t.name)}>{t.name}</a>
                </th>
                <td>{statusOf(t)}</td>
                <td>{t.topic ? <a href={topicHref(t.topic)}>{t.topic}</a> : '—'}</td>
                <td>
                  <code>{t.functionName ?? '—'}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

export function TriggerPage({ name }: { name: string }) {
  const trigger = useLoad(() => logway.describeTrigger(name), [name]);
  const t = trigger.data;
  const scalar = t ? Object.entries(t).filter(([k, v]) => k !== 'partitions' && k !== 'name' && (typeof v !== 'object' || v === null)) : [];
  const nested = t ? Object.entries(t).filter(([k, v]) => k !== 'partitions' && typeof v === 'object' && v !== null) : [];
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href="#/triggers">Triggers</a> /
      </p>
      <PageHeader title={name}>
        <RefreshButton loaded={trigger} />
      </PageHeader>
      {triggersUnavailable(trigger.error) ? <Unavailable /> : <ErrorBanner error={trigger.error} />}
      {t ? (
        <>
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd>{statusOf(t)}</dd>
            </div>
            {scalar.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>
                  <code>{String(v)}</code>
                </dd>
              </div>
            ))}
            {nested.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>
                  <code>{JSON.stringify(v)}</code>
                </dd>
              </div>
            ))}
          </dl>
          <h2>Partitions</h2>
          <table class="data" aria-label="Trigger partitions">
            <TableHead columns={[numeric('Partition'), numeric('Position'), numeric('End offset'), numeric('Lag'), 'Last error']} />
            <tbody>
              {(t.partitions ?? []).map((p) => (
                <tr key={p.partition}>
                  <td class="num">{p.partition}</td>
                  <td class="num">{formatCount(p.position)}</td>
                  <td class="num">{formatCount(p.highWatermark)}</td>
                  <td class="num">{formatCount(p.lag)}</td>
                  <td>{p.lastError ? <span class="error-inline">{errorText(p.lastError)}</span> : <span class="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
