/**
 * Every item of a paginated listing (AIP-158: an empty next_page_token is
 * its end), fetched page by page: `page` asks for the page at `pageToken`
 * ("" for the first) and says which of the response's fields are its items.
 */
export async function allPages<T>(page: (pageToken: string) => Promise<{ readonly items: readonly T[]; readonly nextPageToken: string }>): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const next = await page(pageToken);
    items.push(...next.items);
    pageToken = next.nextPageToken;
  } while (pageToken !== "");
  return items;
}
