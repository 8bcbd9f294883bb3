/** Topics: the list (partitions, offsets, size), create with config, and one topic's partitions and config. */
import { useEffect, useState } from 'preact/hooks';
import { type ConfigField, type ConfigValue, logway, type TopicDescription, topicConfigFields } from './api';
import { formatBytes, formatCount } from './format';
import { navigate, topicHref } from './router';
import { ConfirmDialog, ErrorBanner, PageHeader, RefreshButton, Status, useLoad, numeric, TableHead } from './ui';

interface TopicRow {
  name: string;
  partitions: number;
  description?: TopicDescription;
  error?: unknown;
}

/** Describes topics a few at a time: the list gives names, the description offsets. */
async function describeAll(names: { name: string; partitions: number }[]): Promise<TopicRow[]> {
  const rows: TopicRow[] = names.map((t) => ({ ...t }));
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      try {
        row.description = await logway.describeTopic(row.name);
      } catch (error) {
        row.error = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, rows.length) }, worker));
  return rows;
}

export const recordCount = (d: TopicDescription): number => d.partitions.reduce((n, p) => n + (p.highWatermark - p.logStartOffset), 0);
const sizeOf = (d: TopicDescription): number | undefined =>
  d.partitions.every((p) => typeof p.sizeBytes === 'number') ? d.partitions.reduce((n, p) => n + (p.sizeBytes ?? 0), 0) : undefined;

function Size({ description }: { description: TopicDescription }) {
  const bytes = sizeOf(description);
  return (
    <>
      {formatCount(recordCount(description))} records{bytes !== undefined ? <span class="muted"> · {formatBytes(bytes)}</span> : null}
    </>
  );
}

export function TopicsPage() {
  const topics = useLoad(async () => describeAll((await logway.listTopics()).topics), []);
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Topics">
        <RefreshButton loaded={topics} />
        <button type="button" class="primary" onClick={() => setCreating(!creating)} aria-expanded={creating} aria-controls="create-topic">
          {creating ? 'Close' : 'Create topic'}
        </button>
      </PageHeader>
      {creating ? (
        <CreateTopicForm
          onCreated={(name) => {
            setCreating(false);
            void topics.reload();
            navigate(topicHref(name));
          }}
        />
      ) : null}
      <ErrorBanner error={topics.error} />
      {topics.data && topics.data.length === 0 ? <p class="empty">No topics yet. Create one to start.</p> : null}
      {topics.data && topics.data.length > 0 ? (
        <table class="data" aria-label="Topics">
          <TableHead
            columns={['Name', numeric('Partitions'), numeric('Start offsets'), numeric('End offsets'), numeric('Size'), 'Browse']}
          />
          <tbody>
            {topics.data.map((row) => (
              <tr key={row.name}>
                <th scope="row">
                  <a href={topicHref(row.name)}>{row.name}</a>
                </th>
                <td class="num">{row.partitions}</td>
                {row.description ? (
                  <>
                    <td class="num">{formatCount(row.description.partitions.reduce((n, p) => n + p.logStartOffset, 0))}</td>
                    <td class="num">{formatCount(row.description.partitions.reduce((n, p) => n + p.highWatermark, 0))}</td>
                    <td class="num">
                      <Size description={row.description} />
                    </td>
                  </>
                ) : (
                  <td colSpan={3}>
                    <ErrorBanner error={row.error} />
                  </td>
                )}
                <td>
                  <a href={`${topicHref(row.name)}/messages`}>Messages</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {topics.data && topics.data.length > 0 ? (
        <p class="muted small">Start and end offsets are summed over partitions; size counts the records the topic retains.</p>
      ) : null}
    </section>
  );
}

/** The config inputs, generated from the API's own schema for topic configs. */
function ConfigInputs({
  fields,
  values,
  onChange,
  idPrefix,
}: {
  fields: ConfigField[];
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
  idPrefix: string;
}) {
  return (
    <div class="config-grid">
      {fields.map((field) => {
        const id = `${idPrefix}-${field.name.replace(/\./g, '-')}`;
        return (
          <div class="field" key={field.name}>
            <label for={id}>{field.name}</label>
            {field.choices ? (
              <select id={id} value={values[field.name] ?? ''} onChange={(e) => onChange(field.name, e.currentTarget.value)}>
                <option value="">(default)</option>
                {field.choices.map((choice) => (
                  <option key={choice} value={choice}>
                    {choice}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                inputMode={field.numeric ? 'numeric' : 'text'}
                placeholder="(default)"
                value={values[field.name] ?? ''}
                onInput={(e) => onChange(field.name, e.currentTarget.value)}
              />
            )}
          </div>
        );
      })}
    </div>
  );
}

/** Non-empty entries, numbers as numbers: the API validates and words any problem. */
function configBody(fields: ConfigField[], values: Record<string, string>): Record<string, ConfigValue> {
  const config: Record<string, ConfigValue> = {};
  for (const field of fields) {
    const value = values[field.name]?.trim();
    if (!value) continue;
    config[field.name] = field.numeric && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return config;
}

function useConfigFields() {
  return useLoad(topicConfigFields, []);
}

function CreateTopicForm({ onCreated }: { onCreated: (name: string) => void }) {
  const fields = useConfigFields();
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [config, setConfig] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: { name: string; partitions?: number; config?: Record<string, ConfigValue> } = { name: name.trim() };
      if (partitions.trim()) body.partitions = Number(partitions);
      const configValues = configBody(fields.data ?? [], config);
      if (Object.keys(configValues).length) body.config = configValues;
      const created = await logway.createTopic(body);
      onCreated(created.name);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form id="create-topic" class="panel" onSubmit={submit} aria-label="Create topic">
      <h2>Create a topic</h2>
      <div class="row">
        <div class="field grow">
          <label for="topic-name">Name</label>
          <input
            id="topic-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
            autoComplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field">
          <label for="topic-partitions">Partitions</label>
          <input id="topic-partitions" type="number" min={1} value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} />
        </div>
      </div>
      <fieldset>
        <legend>Config (leave empty for the default)</legend>
        <ErrorBanner error={fields.error} />
        {fields.data ? (
          <ConfigInputs fields={fields.data} values={config} onChange={(k, v) => setConfig({ ...config, [k]: v })} idPrefix="create" />
        ) : null}
      </fieldset>
      <ErrorBanner error={error} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
      </div>
    </form>
  );
}

export function TopicPage({ name }: { name: string }) {
  const topic = useLoad(() => logway.describeTopic(name), [name]);
  const [deleting, setDeleting] = useState(false);
  const [editing, setEditing] = useState(false);
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href="#/topics">Topics</a> /
      </p>
      <PageHeader title={name}>
        <a class="button" href={`${topicHref(name)}/messages`}>
          Messages
        </a>
        <RefreshButton loaded={topic} />
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing} disabled={!topic.data}>
          {editing ? 'Close' : 'Edit config'}
        </button>
        <button type="button" class="danger" onClick={() => setDeleting(true)}>
          Delete topic
        </button>
      </PageHeader>
      <ErrorBanner error={topic.error} />
      {editing && topic.data ? (
        <EditTopicForm
          topic={topic.data}
          onSaved={() => {
            setEditing(false);
            void topic.reload();
          }}
        />
      ) : null}
      {topic.data ? (
        <div class="columns">
          <div>
            <h2>Partitions</h2>
            <table class="data" aria-label="Partitions">
              <TableHead
                columns={[
                  numeric('Partition'),
                  numeric('Start offset'),
                  numeric('End offset'),
                  numeric('Records'),
                  topic.data.partitions.some((p) => p.sizeBytes !== undefined) && numeric('Size'),
                  'Browse',
                ]}
              />
              <tbody>
                {topic.data.partitions.map((p) => (
                  <tr key={p.partition}>
                    <th scope="row" class="num">
                      {p.partition}
                    </th>
                    <td class="num">{formatCount(p.logStartOffset)}</td>
                    <td class="num">{formatCount(p.highWatermark)}</td>
                    <td class="num">{formatCount(p.highWatermark - p.logStartOffset)}</td>
                    {p.sizeBytes !== undefined ? <td class="num">{formatBytes(p.sizeBytes)}</td> : null}
                    <td>
                      <a href={`${topicHref(name)}/messages?partition=${p.partition}`}>Messages</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted small">
              Topic id <code>{topic.data.topicId}</code>. The end offset is the high watermark: where the next record goes.
            </p>
          </div>
          <div>
            <h2>Config</h2>
            <table class="data" aria-label="Config">
              <TableHead columns={['Name', 'Value']} />
              <tbody>
                {Object.entries(topic.data.config).map(([key, value]) => (
                  <tr key={key}>
                    <th scope="row">
                      <code>{key}</code>
                    </th>
                    <td>
                      <code>{String(value)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}
      <ConfirmDialog
        open={deleting}
        title={`Delete topic ${name}?`}
        expected={name}
        action="Delete topic"
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await logway.deleteTopic(name);
          navigate('#/topics');
        }}
      >
        <p>Its records become unreadable at once and are purged by the retention sweep. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

function EditTopicForm({ topic, onSaved }: { topic: TopicDescription; onSaved: () => void }) {
  const fields = useConfigFields();
  const [partitions, setPartitions] = useState(String(topic.partitions.length));
  const [config, setConfig] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  useEffect(() => {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(topic.config)) values[k] = String(v);
    setConfig(values);
  }, [topic]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const body: { partitions?: number; config?: Record<string, ConfigValue> } = {};
      const wanted = Number(partitions);
      if (wanted !== topic.partitions.length) body.partitions = wanted;
      const changed: Record<string, string> = {};
      for (const [k, v] of Object.entries(config)) if (String(topic.config[k] ?? '') !== v) changed[k] = v;
      const values = configBody(fields.data ?? [], changed);
      if (Object.keys(values).length) body.config = values;
      if (!body.partitions && !body.config) {
        setDone('Nothing changed.');
        return;
      }
      await logway.alterTopic(topic.name, body);
      setDone('Saved.');
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="Edit topic">
      <h2>Edit {topic.name}</h2>
      <div class="field">
        <label for="edit-partitions">Partitions (can only grow)</label>
        <input
          id="edit-partitions"
          type="number"
          min={topic.partitions.length}
          value={partitions}
          onInput={(e) => setPartitions(e.currentTarget.value)}
        />
      </div>
      <fieldset>
        <legend>Config</legend>
        <ErrorBanner error={fields.error} />
        {fields.data ? (
          <ConfigInputs fields={fields.data} values={config} onChange={(k, v) => setConfig({ ...config, [k]: v })} idPrefix="edit" />
        ) : null}
      </fieldset>
      <ErrorBanner error={error} />
      <Status>{done}</Status>
      <div class="form-actions">
        <button type="submit" class="primary">
          Save
        </button>
      </div>
    </form>
  );
}
