/**
 * The Logway web console. Preact (a 4 KB React-compatible renderer) with hooks; hash routes; every
 * call goes to the page's own origin /v1/*, so the same files work behind the local gateway and
 * behind `logway console`, which signs the calls for a deployed stack.
 */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { GroupPage, GroupsPage } from './groups';
import { MessagesPage } from './messages';
import { useRoute } from './router';
import { TopicPage, TopicsPage } from './topics';
import { TriggerPage, TriggersPage } from './triggers';

function Page() {
  const { segments, query } = useRoute();
  const [section, name, sub] = segments;
  useEffect(() => {
    document.title = [name, section ? section[0]!.toUpperCase() + section.slice(1) : '', 'Logway console'].filter(Boolean).join(' · ');
  }, [section, name]);
  switch (section) {
    case 'topics':
      if (!name) return <TopicsPage />;
      if (sub === 'messages') return <MessagesPage topic={name} initialPartition={query.get('partition')} />;
      return <TopicPage name={name} />;
    case 'groups':
      return name ? <GroupPage id={name} /> : <GroupsPage />;
    case 'triggers':
      return name ? <TriggerPage name={name} /> : <TriggersPage />;
    default:
      return (
        <section>
          <h1 id="page-title">Not found</h1>
          <p>
            There is no console page <code>#{segments.join('/')}</code>. Go to <a href="#/topics">Topics</a>.
          </p>
        </section>
      );
  }
}

function Nav() {
  const { segments } = useRoute();
  const link = (section: string, label: string) => (
    <a href={`#/${section}`} aria-current={segments[0] === section ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <nav aria-label="Console sections">
      {link('topics', 'Topics')}
      {link('groups', 'Consumer groups')}
      {link('triggers', 'Triggers')}
    </nav>
  );
}

function App() {
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/topics">
          <img src="favicon.svg" alt="" width={22} height={22} /> Logway console
        </a>
        <Nav />
        <span class="endpoint muted" title="The API this console talks to">
          {location.host}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
