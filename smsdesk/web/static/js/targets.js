// Transfer / invite / consult targets: the colleagues who can take a conversation now (Ready, load below
// capacity), each with its state and load ("Bob — Ready, 1/3"), and the configured queues
// (GET /api/v2/queues). Availability is read with GET /api/v2/users/{id}?subresources=channels per colleague when
// the agent opens the transfer form, at most MAX_READ of them (a large team shows the queues first).
const MAX_READ = 40;
const OPEN = new Set(["Invited", "Chatting", "LeftChat"]);

export async function colleagueAvailability(gws, colleagues) {
  const rows = await Promise.all(colleagues.slice(0, MAX_READ).map(async (user) => {
    try {
      const detail = await gws.userDetail(user.id, "channels");
      const channel = (detail.channels || [])[0];
      const state = channel && channel.userState ? channel.userState : {state: "LoggedOut"};
      // smsdesk's channel `load` / `capacity`; a colleague's sessions are for supervisors only
      const load = Number.isFinite(channel && channel.load) ? channel.load
        : (detail.smssessions || []).filter((s) => OPEN.has(s.state)).length;
      const capacity = Number((channel && channel.capacity) || detail.capacity || user.capacity) || 0;
      return {user, state, load, capacity, available: state.state === "Ready" && (!capacity || load < capacity)};
    } catch {
      return {user, state: {state: "Unknown"}, load: 0, capacity: 0, available: false};
    }
  }));
  return rows.sort((a, b) => (a.load / (a.capacity || 1)) - (b.load / (b.capacity || 1))
    || (a.user.nickname || a.user.userName).localeCompare(b.user.nickname || b.user.userName));
}

export function describeColleague(row) {
  const name = row.user.nickname || row.user.userName;
  const state = row.state.displayName || row.state.state;
  return `${name} — ${state}, ${row.load}/${row.capacity || "?"}`;
}
