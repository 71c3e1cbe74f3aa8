// A mosaik simulator written in JavaScript for Node.js, with no dependencies: electric
// heaters that halve their power while the voltage at their bus is low (an under-voltage
// load reduction). It speaks the mosaik wire protocol directly, without mosaik_api_v3:
//
//   message = 4-byte big-endian length + UTF-8 JSON [type, id, content]
//   type 0 request  content [method, args, kwargs]   (mosaik -> simulator, or back)
//   type 1 success  content = the return value
//   type 2 failure  content = [error type, message, ...details]
//
// mosaik calls init(sid, time_resolution=, **sim_params) -> meta, create(num, model,
// **params) -> entities, setup_done(), step(time, inputs, max_advance) -> next time,
// get_data(outputs) -> data, and stop (no answer; the process ends).
//
// Usage: node heater_sim.js HOST:PORT  (mosaik's "cmd" starter: "node heater_sim.js %(addr)s")
"use strict";
const net = require("net");

const META = {
  api_version: "3.0",
  type: "time-based",
  models: {
    Heater: {
      public: true,
      params: ["p_rated_kw", "vm_min_pu"],
      attrs: ["p_kw", "vm_pu"], // p_kw: load sign [kW]; vm_pu: bus voltage last received [p.u.]
    },
  },
};

let stepS = 900;
const heaters = new Map(); // eid -> {pRatedKw, vmMinPu, vmPu, pKw}

function init(sid, kwargs) {
  if (kwargs.time_resolution !== 1) throw new Error("time_resolution must be 1 (1 tick = 1 s)");
  if (kwargs.step_s !== undefined) {
    if (!Number.isInteger(kwargs.step_s) || kwargs.step_s <= 0)
      throw new Error(`step_s=${kwargs.step_s} must be a positive integer [s]`);
    stepS = kwargs.step_s;
  }
  return META;
}

function create(num, model, kwargs) {
  if (model !== "Heater") throw new Error(`model=${model} is unknown; known: Heater`);
  const pRatedKw = kwargs.p_rated_kw ?? 2.0;
  const vmMinPu = kwargs.vm_min_pu ?? 0.95;
  const created = [];
  for (let k = 0; k < num; k++) {
    const eid = `heater_${heaters.size}`;
    heaters.set(eid, { pRatedKw, vmMinPu, vmPu: 1.0, pKw: pRatedKw });
    created.push({ eid, type: "Heater", rel: [] });
  }
  return created;
}

function step(time, inputs, maxAdvance) {
  for (const [eid, heater] of heaters) {
    const sources = (inputs[eid] || {}).vm_pu;
    if (sources) {
      const values = Object.values(sources).filter((v) => v !== null);
      if (values.length > 0) heater.vmPu = Math.min(...values);
    }
    heater.pKw = heater.vmPu >= heater.vmMinPu ? heater.pRatedKw : heater.pRatedKw / 2;
  }
  return time + stepS;
}

function getData(outputs) {
  const data = {};
  for (const [eid, attrs] of Object.entries(outputs)) {
    const heater = heaters.get(eid);
    if (!heater) throw new Error(`unknown entity ${eid}`);
    data[eid] = {};
    for (const attr of attrs) {
      if (attr === "p_kw") data[eid][attr] = heater.pKw;
      else if (attr === "vm_pu") data[eid][attr] = heater.vmPu;
      else throw new Error(`${attr} is no attr of Heater; attrs: p_kw, vm_pu`);
    }
  }
  return data;
}

const METHODS = {
  init: (args, kwargs) => init(args[0], kwargs),
  create: (args, kwargs) => create(args[0], args[1], kwargs),
  setup_done: () => null,
  step: (args) => step(args[0], args[1], args[2]),
  get_data: (args) => getData(args[0]),
};

function send(socket, type, id, content) {
  const body = Buffer.from(JSON.stringify([type, id, content]), "utf8");
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  socket.write(Buffer.concat([header, body]));
}

function handle(socket, message) {
  const [type, id, content] = message;
  if (type !== 0) return; // this simulator makes no requests, so expects no answers
  const [method, args, kwargs] = content;
  if (method === "stop") {
    socket.end();
    return;
  }
  try {
    const fn = METHODS[method];
    if (!fn) throw new Error(`method ${method} is unknown`);
    send(socket, 1, id, fn(args, kwargs));
  } catch (err) {
    send(socket, 2, id, [err.name, err.message]);
  }
}

const [host, port] = (process.argv[2] || "").split(":");
if (!host || !port) {
  console.error("usage: node heater_sim.js HOST:PORT");
  process.exit(2);
}
const socket = net.connect(Number(port), host);
let buffer = Buffer.alloc(0);
socket.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  while (buffer.length >= 4) {
    const length = buffer.readUInt32BE(0);
    if (buffer.length < 4 + length) break;
    const message = JSON.parse(buffer.subarray(4, 4 + length).toString("utf8"));
    buffer = buffer.subarray(4 + length);
    handle(socket, message);
  }
});
socket.on("close", () => process.exit(0));
socket.on("error", (err) => {
  console.error(`heater_sim: ${err.message}`);
  process.exit(1);
});
