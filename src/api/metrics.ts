/**
 * A small Prometheus registry (text exposition format 0.0.4): counters and histograms with labels, and
 * gauges read at scrape time. Enough for /metrics without a dependency.
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const v = this.#values.get(k) ?? { labels, value: 0 };
    v.value += by;
    this.#values.set(k, v);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines.join('\n');
  }
}

export class Histogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const k = key(labels);
    const s = this.#series.get(k) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count += 1;
    this.#series.set(k, s);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i] ?? 0}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

/** Samples read when scraped: a gauge, or a counter kept by someone else (e.g. the LwM2M layer). */
export interface GaugeFamily {
  readonly name: string;
  readonly help: string;
  readonly type?: 'gauge' | 'counter';
  collect(): Promise<{ labels?: Labels; value: number }[]>;
}

export class MetricsRegistry {
  readonly #counters: Counter[] = [];
  readonly #histograms: Histogram[] = [];
  readonly #gauges: GaugeFamily[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#counters.push(c);
    return c;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.#histograms.push(h);
    return h;
  }

  gauge(family: GaugeFamily): void {
    this.#gauges.push(family);
  }

  /** The exposition text. */
  async render(): Promise<string> {
    const parts: string[] = [];
    for (const g of this.#gauges) {
      const samples = await g.collect();
      parts.push([`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type ?? 'gauge'}`, ...samples.map((s) => `${g.name}${labelText(s.labels ?? {})} ${s.value}`)].join('\n'));
    }
    for (const c of this.#counters) parts.push(c.render());
    for (const h of this.#histograms) parts.push(h.render());
    return `${parts.join('\n')}\n`;
  }
}
