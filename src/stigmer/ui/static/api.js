// The dashboard's JSON API (same origin; the API key travels in an HttpOnly cookie).

export class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "";
    this.field = body.field || "";
    this.hint = body.hint || "";
  }
}

async function answer(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = { error: `HTTP ${response.status}` };
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("stigmer:signin"));
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function address(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== undefined && value !== null) query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** GET /api/… with query parameters (empty ones left out). */
export async function get(path, params) {
  const response = await fetch(address(`/api${path}`, params), {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  return answer(response);
}

/** POST /api/… with a JSON body. */
export async function post(path, body) {
  const response = await fetch(`/api${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body || {}),
  });
  return answer(response);
}

/** Server-Sent Events of one execution (the browser reconnects with Last-Event-ID by itself). */
export function events(executionId) {
  return new EventSource(`/api/executions/${encodeURIComponent(executionId)}/events`);
}

export const enc = encodeURIComponent;
