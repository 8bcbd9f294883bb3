/** Consumer groups: the list, and one group's state, members, assignments, lag, and offset reset. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type GroupDescription, isApiError, logway, type ResetTarget } from './api';
import { formatCount, formatTimestamp } from './format';
import { groupHref, navigate, topicHref } from './router';
import { ErrorBanner, PageHeader, RefreshButton, Status, useLoad, numeric, TableHead } from './ui';

const assignmentText = (assignment: Record<string, number[]>): string =>
  Object.entries(assignment)
    .filter(([, partitions]) => partitions.length)
    .map(([topic, partitions]) => `${topic}: ${partitions.join(', ')}`)
    .join('; ') || '—';

const autoRefreshMs = 3_000;

export function GroupsPage() {
  const groups = useLoad(() => logway.listGroups(), []);
  const [openId, setOpenId] = useState('');
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Consumer groups">
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (openId.trim()) navigate(groupHref(openId.trim()));
          }}
        >
          <label for="open-group">Group id</label>
          <input
            id="open-group"
            value={openId}
            onInput={(e) => setOpenId(e.currentTarget.value)}
            placeholder="any id, even a new one"
            size={22}
          />
          <button type="submit">Open</button>
        </form>
        <RefreshButton loaded={groups} />
      </PageHeader>
      <ErrorBanner error={groups.error} />
      {groups.data && groups.data.groups.length === 0 ? (
        <p class="empty">No consumer groups yet. A group appears when a consumer joins it or commits.</p>
      ) : null}
      {groups.data?.groups.length ? (
        <table class="data" aria-label="Consumer groups">
          <TableHead columns={['Group', 'State', numeric('Members')]} />
          <tbody>
            {groups.data.groups.map((g) => (
              <tr key={g.groupId}>
                <th scope="row">
                  <a href={groupHref(g.groupId)}>{g.groupId}</a>
                </th>
                <td>
                  <span class={`state state-${g.state.toLowerCase()}`}>{g.state}</span>
                </td>
                <td class="num">{g.memberCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** A group that does not exist yet can still be given offsets: the reset creates it. */
const emptyGroup = (groupId: string): GroupDescription => ({
  groupId,
  state: 'Empty',
  groupEpoch: 0,
  assignmentEpoch: 0,
  members: [],
  partitions: [],
});

export function GroupPage({ id }: { id: string }) {
  const group = useLoad(() => logway.describeGroup(id), [id]);
  const g = group.data;
  const missing = isApiError(group.error) && group.error.code === 'GROUP_ID_NOT_FOUND';
  const [auto, setAuto] = useState(false);
  useEffect(() => {
    if (!auto) return;
    const timer = setInterval(() => void group.reload(), autoRefreshMs);
    return () => clearInterval(timer);
  }, [auto, group.reload]);
  const totalLag = g?.partitions.reduce((n, p) => n + (p.lag ?? 0), 0) ?? 0;
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href="#/groups">Consumer groups</a> /
      </p>
      <PageHeader title={id}>
        <label class="inline">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.currentTarget.checked)} /> Refresh every {autoRefreshMs / 1000} s
        </label>
        <RefreshButton loaded={group} />
      </PageHeader>
      <ErrorBanner error={group.error} />
      {missing ? <ResetOffsetsForm group={emptyGroup(id)} onReset={() => void group.reload()} /> : null}
      {g ? (
        <>
          <dl class="facts">
            <div>
              <dt>State</dt>
              <dd>
                <span class={`state state-${g.state.toLowerCase()}`} data-testid="group-state">
                  {g.state}
                </span>
              </dd>
            </div>
            <div>
              <dt>Group epoch</dt>
              <dd>{g.groupEpoch}</dd>
            </div>
            <div>
              <dt>Assignment epoch</dt>
              <dd>{g.assignmentEpoch}</dd>
            </div>
            <div>
              <dt>Members</dt>
              <dd>{g.members.length}</dd>
            </div>
            <div>
              <dt>Total lag</dt>
              <dd data-testid="total-lag">{formatCount(totalLag)}</dd>
            </div>
          </dl>
          <h2>Members</h2>
          {g.members.length ? (
            <table class="data" aria-label="Members">
              <TableHead columns={['Member', numeric('Epoch'), 'Subscribed', 'Assignment', 'Revoking', 'Last heartbeat']} />
              <tbody>
                {g.members.map((m) => (
                  <tr key={m.memberId}>
                    <th scope="row">
                      <code>{m.memberId}</code>
                    </th>
                    <td class="num">{m.memberEpoch}</td>
                    <td>{m.subscribedTopics.join(', ')}</td>
                    <td>{assignmentText(m.assignment)}</td>
                    <td>{assignmentText(m.pendingRevocation)}</td>
                    <td class="nowrap">{formatTimestamp(m.lastHeartbeat)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="empty">No live members: the group is empty, so its offsets can be reset.</p>
          )}
          <h2>Offsets and lag</h2>
          {g.partitions.length ? (
            <table class="data" aria-label="Offsets and lag">
              <TableHead
                columns={['Topic', numeric('Partition'), 'Member', numeric('Committed offset'), numeric('End offset'), numeric('Lag')]}
              />
              <tbody>
                {g.partitions.map((p) => (
                  <tr key={`${p.topic}:${p.partition}`}>
                    <td>
                      <a href={topicHref(p.topic)}>{p.topic}</a>
                    </td>
                    <td class="num">{p.partition}</td>
                    <td>{p.memberId ? <code>{p.memberId}</code> : <span class="muted">unassigned</span>}</td>
                    <td class="num">{p.committedOffset ?? <span class="muted">none</span>}</td>
                    <td class="num">{p.highWatermark ?? <span class="muted">—</span>}</td>
                    <td class="num lag">{p.lag ?? <span class="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="empty">No committed offsets or assigned partitions.</p>
          )}
          <ResetOffsetsForm group={g} onReset={() => void group.reload()} />
        </>
      ) : null}
    </section>
  );
}

type ResetMode = 'earliest' | 'latest' | 'timestamp' | 'offset';

function ResetOffsetsForm({ group, onReset }: { group: GroupDescription; onReset: () => void }) {
  const known = [...new Set(group.partitions.map((p) => p.topic))];
  const topics = useLoad(() => logway.listTopics(), []);
  const choices = [...new Set([...known, ...(topics.data?.topics.map((t) => t.name) ?? [])])];
  const [topic, setTopic] = useState(known[0] ?? '');
  const [mode, setMode] = useState<ResetMode>('earliest');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const chosen = topic || choices[0] || '';
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone('');
    let to: ResetTarget;
    if (mode === 'timestamp') {
      const ms = new Date(value).getTime();
      if (!value || Number.isNaN(ms)) return setError(new ApiError(0, 'INVALID_INPUT', 'Give the date and time to reset to.'));
      to = { timestamp: ms };
    } else if (mode === 'offset') {
      if (!/^\d+$/.test(value.trim())) return setError(new ApiError(0, 'INVALID_INPUT', 'The offset must be a whole number.'));
      to = { offset: Number(value) };
    } else to = mode;
    setBusy(true);
    try {
      const result = await logway.resetOffsets(group.groupId, chosen, to);
      setDone(`Reset ${result.topic}: ${result.offsets.map((o) => `partition ${o.partition} → ${o.offset}`).join(', ')}.`);
      onReset();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="Reset offsets">
      <h2>Reset offsets</h2>
      <p class="muted small">
        Only an empty group (no live members) can be reset: stop its consumers first. Every partition of the topic is set.
      </p>
      <div class="row">
        <div class="field">
          <label for="reset-topic">Topic</label>
          <select id="reset-topic" value={chosen} onChange={(e) => setTopic(e.currentTarget.value)}>
            {choices.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="reset-to">Reset to</label>
          <select id="reset-to" value={mode} onChange={(e) => setMode(e.currentTarget.value as ResetMode)}>
            <option value="earliest">Earliest</option>
            <option value="latest">Latest</option>
            <option value="timestamp">Timestamp</option>
            <option value="offset">Offset</option>
          </select>
        </div>
        {mode === 'timestamp' ? (
          <div class="field">
            <label for="reset-value">Time (local)</label>
            <input id="reset-value" type="datetime-local" step={1} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </div>
        ) : null}
        {mode === 'offset' ? (
          <div class="field">
            <label for="reset-value">Offset (clamped to each partition)</label>
            <input id="reset-value" type="number" min={0} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </div>
        ) : null}
        <div class="field buttons">
          <button type="submit" class="primary" disabled={busy || !chosen}>
            {busy ? 'Resetting…' : 'Reset offsets'}
          </button>
        </div>
      </div>
      <ErrorBanner error={error} />
      <ErrorBanner error={topics.error} />
      <Status>{done}</Status>
    </form>
  );
}
