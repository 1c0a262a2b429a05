// Reads the server's Prometheus text exposition (/metrics, public) for the live deployment charts.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string, prefix = ''): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || (prefix && !line.startsWith(prefix))) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

export async function fetchMetrics(signal?: AbortSignal): Promise<string> {
  const res = await fetch('/metrics', { signal, headers: { Accept: 'text/plain' } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Per model: total inference requests (every outcome), latency sum (s) and count, compute sum and count. */
export interface InferenceTotals {
  requests: number;
  latencySum: number;
  latencyCount: number;
  queueSum: number;
  queueCount: number;
}

export function inferenceTotals(samples: Sample[]): Map<string, InferenceTotals> {
  const m = new Map<string, InferenceTotals>();
  const get = (model: string) => {
    let t = m.get(model);
    if (!t) {
      t = { requests: 0, latencySum: 0, latencyCount: 0, queueSum: 0, queueCount: 0 };
      m.set(model, t);
    }
    return t;
  };
  for (const s of samples) {
    const model = s.labels.model;
    if (!model) continue;
    switch (s.name) {
      case 'c19ai_inference_requests_total':
        get(model).requests += s.value;
        break;
      case 'c19ai_inference_latency_seconds_sum':
        get(model).latencySum += s.value;
        break;
      case 'c19ai_inference_latency_seconds_count':
        get(model).latencyCount += s.value;
        break;
      case 'c19ai_inference_queue_seconds_sum':
        get(model).queueSum += s.value;
        break;
      case 'c19ai_inference_queue_seconds_count':
        get(model).queueCount += s.value;
        break;
      default:
        break;
    }
  }
  return m;
}
