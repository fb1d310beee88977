/**
 * Reading a test server's Prometheus metrics.
 */

/**
 * The sum of a metric's samples at `GET /metrics` whose labels include `labels` (all of its samples
 * when none are given; an unlabelled metric has one).
 */
export async function metric(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.split(" ").pop());
  }
  return sum;
}
