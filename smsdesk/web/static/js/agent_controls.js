// The agent's per-session controls (spec §6): Complete, Leave, Transfer / Invite / Consult, disposition and
// attached data. Each is a SessionPane button, so the session's `capabilities` enable it.
import {h} from "./dom.js";

const DISPOSITIONS = ["Resolved", "Follow-up needed", "Escalated", "Spam", "No answer"];

function targetOptions(select, getColleagues) {
  const current = select.value;
  select.replaceChildren(h("option", {value: ""}, "Choose an agent…"),
    ...getColleagues().map((u) => h("option", {value: u.uri}, u.nickname || u.userName)));
  select.value = current;
}

function field(label, input) {
  return h("label", {class: "field"}, h("span", {}, label), input);
}

function routingControls(pane, getColleagues) {
  const agent = h("select", {name: "target"});
  const queue = h("input", {name: "queue", placeholder: "queue name", autocomplete: "off"});
  targetOptions(agent, getColleagues);
  const target = () => (agent.value ? {targetUri: agent.value} : "Choose an agent first.");
  const block = h("details", {class: "op-block"},
    h("summary", {}, "Transfer / invite / consult"),
    h("div", {class: "op-form"},
      field("Agent", agent), field("or queue", queue),
      pane.button("Transfer", "Transfer", {
        params: () => (queue.value.trim() ? {queueName: queue.value.trim()}
          : agent.value ? {targetUri: agent.value} : "Choose an agent or type a queue name first."),
      }),
      pane.button("Invite", "Invite", {params: target}),
      pane.button("Consult", "Consult", {params: target})));
  block.addEventListener("toggle", () => targetOptions(agent, getColleagues));
  return block;
}

function dispositionControls(pane) {
  const listId = `dispositions-${pane.id}`;
  const input = h("input", {name: "disposition", list: listId, autocomplete: "off"});
  return h("details", {class: "op-block"}, h("summary", {}, "Disposition"),
    h("div", {class: "op-form"},
      field("Disposition", input),
      h("datalist", {id: listId}, ...DISPOSITIONS.map((d) => h("option", {value: d}))),
      pane.button("Set disposition", "SetDisposition", {
        params: () => (input.value.trim() ? {disposition: input.value.trim()} : "Type a disposition first."),
      })));
}

function attachControls(pane) {
  const key = h("input", {name: "key", autocomplete: "off"});
  const value = h("input", {name: "value", autocomplete: "off"});
  return h("details", {class: "op-block"}, h("summary", {}, "Attach data"),
    h("div", {class: "op-form"}, field("Key", key), field("Value", value),
      pane.button("Attach", "AttachUserData", {
        params: () => (key.value.trim() ? {userData: {[key.value.trim()]: value.value}} : "Type a key first."),
        after: () => { key.value = ""; value.value = ""; },
      })));
}

// The `actions` of an agent's SessionPane; `getColleagues()` lists the other agents (transfer targets).
export function agentActions(getColleagues) {
  return {
    composer: true,
    controls: [
      (pane) => pane.button("Complete", "Complete", {class: "primary"}),
      (pane) => pane.button("Leave", "Leave"),
      (pane) => routingControls(pane, getColleagues),
      dispositionControls,
      attachControls,
    ],
  };
}
