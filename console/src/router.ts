/** Hash routes (#/topics/orders/messages?partition=0): links work, back works, nothing to configure on the server. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments: segments.length ? segments : ['topics'], query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(href: string): void {
  location.hash = href.replace(/^#/, '');
}

export const topicHref = (name: string): string => `#/topics/${encodeURIComponent(name)}`;
export const groupHref = (id: string): string => `#/groups/${encodeURIComponent(id)}`;
export const triggerHref = (name: string): string => `#/triggers/${encodeURIComponent(name)}`;
