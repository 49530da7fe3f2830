// The GWS REST client used by both pages: login with HTTP Basic once, then the JSESSIONID cookie only.
// It mirrors the X-CSRF-TOKEN header (spec §9.1) on every POST when the server sends one on a GET.
// The password is never stored: after `login` the browser's cookie is the only credential.

export class GwsError extends Error {
  constructor(status, statusCode, message) {
    super(message);
    this.name = "GwsError";
    this.status = status;          // HTTP status (0 when the server could not be reached)
    this.statusCode = statusCode;  // GWS statusCode (spec §9.5), -1 when unknown
  }
}

const SIGNED_IN_KEY = "smsdesk.signedIn";
const LOGIN_TIMEOUT_MS = 6000;

export class Gws {
  constructor(base = "") {
    this.base = base;
    this.csrfHeader = null;
    this.csrfToken = null;
    this.skewMs = 0; // server clock minus this browser's, from the Date header (countdowns use server time)
  }

  // The server's "now" in milliseconds (countdowns to offer and wrap-up deadlines, which are server times).
  serverNow() { return Date.now() + this.skewMs; }

  // Did this tab sign in before (so the cookie may still be valid)? Only the user name is kept.
  rememberedUser() { return sessionStorage.getItem(SIGNED_IN_KEY); }

  forget() {
    sessionStorage.removeItem(SIGNED_IN_KEY);
    this.csrfToken = null;
  }

  // GET /api/v2/me with Basic credentials: sets the JSESSIONID cookie and returns the user resource.
  async login(userName, password) {
    const basic = "Basic " + btoa(unescape(encodeURIComponent(userName + ":" + password)));
    // A wrong password answers 401 with `WWW-Authenticate: Basic`, on which a browser may hold the request
    // to ask for credentials itself: give up after LOGIN_TIMEOUT_MS and report it as a failed sign-in.
    const body = await this.request("GET", "/api/v2/me", undefined, {Authorization: basic}, LOGIN_TIMEOUT_MS);
    sessionStorage.setItem(SIGNED_IN_KEY, body.user.userName);
    return body.user;
  }

  // GET /api/v2/me with the cookie only: the user when the HTTP session is still alive.
  async resume() {
    const body = await this.get("/api/v2/me");
    return body.user;
  }

  get(path) { return this.request("GET", path); }

  post(path, payload) { return this.request("POST", path, payload ?? {}); }

  async request(method, path, payload, extraHeaders = {}, timeoutMs = 0) {
    // X-Requested-With marks an API call, so a server may leave out the Basic challenge (no browser dialog).
    const headers = {Accept: "application/json", "X-Requested-With": "XMLHttpRequest", ...extraHeaders};
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && this.csrfToken) headers[this.csrfHeader || "X-CSRF-TOKEN"] = this.csrfToken;
    let response;
    try {
      response = await fetch(this.base + path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } catch (err) {
      if (err.name === "TimeoutError") throw new GwsError(401, 20, "No answer to the sign-in request");
      throw new GwsError(0, -1, "The server cannot be reached (" + err.message + ")");
    }
    const date = Date.parse(response.headers.get("Date") || "");
    if (Number.isFinite(date)) this.skewMs = date + 500 - Date.now(); // Date has whole seconds: +0.5 s
    const token = response.headers.get("X-CSRF-TOKEN");
    if (token) {
      this.csrfToken = token;
      this.csrfHeader = response.headers.get("X-CSRF-HEADER") || "X-CSRF-TOKEN";
    }
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    if (!response.ok || !body || (typeof body.statusCode === "number" && body.statusCode !== 0 && body.statusCode !== 7)) {
      const code = body && typeof body.statusCode === "number" ? body.statusCode : -1;
      const msg = (body && body.statusMessage) || `HTTP ${response.status} on ${method} ${path}`;
      throw new GwsError(response.status, code, msg);
    }
    return body;
  }

  // POST /api/v2/me/smssessions/{id} {operationName, ...params}
  sessionOp(sessionId, operationName, params = {}) {
    return this.post(`/api/v2/me/smssessions/${encodeURIComponent(sessionId)}`, {operationName, ...params});
  }

  async sessions() {
    const body = await this.get("/api/v2/me/smssessions?fields=*");
    return body.smssessions || [];
  }

  async session(sessionId) {
    const body = await this.get(`/api/v2/me/smssessions/${encodeURIComponent(sessionId)}`);
    return body.smssession;
  }

  // GET /api/v2/queues (smsdesk's addition): [{name, uri, path}]; [] from a server without it.
  async queues() {
    try {
      const body = await this.get("/api/v2/queues");
      return body.queues || [];
    } catch (err) {
      if (err.status === 404) return [];
      throw err;
    }
  }

  async messages(sessionId) {
    const body = await this.get(`/api/v2/me/smssessions/${encodeURIComponent(sessionId)}/messages`);
    return body.messages || [];
  }

  async myChannels() {
    const body = await this.get("/api/v2/me/channels");
    return body.channels || [];
  }

  setChannelState(operationName, reason) {
    const payload = {operationName};
    if (reason) payload.reason = reason;
    return this.post("/api/v2/me/channels/sms", payload);
  }

  async users() {
    const body = await this.get("/api/v2/users?fields=*");
    return body.users || [];
  }

  // A user with its channels and SMS sessions (GetAgentInteractions, spec §7.10). `subresources=*` embeds
  // every subresource the server knows, so the page keeps working on servers without `smssessions`.
  async userDetail(userId, subresources = "*") {
    const body = await this.get(`/api/v2/users/${encodeURIComponent(userId)}?subresources=${subresources}`);
    return body.user;
  }

  // POST /api/v2/users/{agentId}/channels/smssession: Monitor / Coach / BargeIn / CancelSupervisorMonitoring
  supervise(agentId, operationName, mode, nickname) {
    const payload = {operationName};
    if (mode) payload.supervisorMonitoringMode = mode;
    if (nickname) payload.nickname = nickname;
    return this.post(`/api/v2/users/${encodeURIComponent(agentId)}/channels/smssession`, payload);
  }

  // GET /api/v2/me/supervision: whom this supervisor monitors ({agentId, operationName,
  // supervisorMonitoringMode}); null when the server does not offer it (it is not in the GWS docs).
  async subscriptions() {
    try {
      const body = await this.get("/api/v2/me/supervision");
      return body.subscriptions || [];
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  intrude(agentId, sessionId, visibilityMode, nickname) {
    const payload = {operationName: "Intrude"};
    if (nickname) payload.nickname = nickname;
    if (visibilityMode) payload.supervisorVisibilityMode = visibilityMode;
    return this.post(
      `/api/v2/users/${encodeURIComponent(agentId)}/smssessions/${encodeURIComponent(sessionId)}`, payload);
  }

  async logout() {
    try { await this.post("/api/v2/me", {operationName: "EndContactCenterSession"}); }
    finally { this.forget(); }
  }
}
