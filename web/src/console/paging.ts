// Reading every page of a {items, next} list (docs/control.md "Lists").
import type { Page } from "../common/http.js";

/** Follows `next` until null, at most `maxPages` pages; `more` says whether
 * pages were left unread. */
export async function readAll<T>(
  fetchPage: (cursor: string | null) => Promise<Page<T>>,
  maxPages = 20,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page: Page<T> = await fetchPage(cursor);
    items.push(...page.items);
    if (page.next === null) return { items, more: false };
    cursor = page.next;
  }
  return { items, more: true };
}
