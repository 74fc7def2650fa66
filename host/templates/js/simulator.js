// %%NAME%%: a ratchet tool simulator. It answers an agent's tool calls from a JSON
// world during `ratchet gate` replay (when no recorded fixture matches), and
// reconstructs that world from a recorded conversation's calls at `ratchet
// regenerate`. The example is an order backend:
//
//   {"orders": {"O-1001": {"order_id": "O-1001", "status": "open", "total": 49.0}}}
//
// * `seed`: each order as the first successful `get_order` of it returned it;
// * `get_order` (`order_id`): the order, or an error result;
// * `cancel_order` (`order_id`): an `open` order becomes `cancelled`; any other status
//   is an error result and changes nothing;
// * any other tool: not modelled (`null`), the gate's missing-fixture policy applies.
//
// Pure functions over JSON: the world comes in whole and goes out whole (change a
// `cloneJson` copy, never the world passed in). Numbers written with a fraction
// (`49.0`) arrive as `F64` so they go back out as `49.0`: compare them with `Number(x)`.

import { PluginError, PluginInfo, Simulated, cloneJson, isJsonObject } from '%%JS_INDEX%%';

const has = (o, k) => isJsonObject(o) && Object.prototype.hasOwnProperty.call(o, k);
const own = (o, k) => (has(o, k) ? o[k] : null);

export class %%TYPE%% {
  info() {
    return new PluginInfo('%%NAME%%', '0.1.0', 'An order backend: get_order and cancel_order');
  }

  seed(observed, _params) {
    const orders = {};
    for (const o of observed) {
      if (o.request.tool !== 'get_order' || o.isError) continue;
      const id = own(o.result, 'order_id');
      // The first answer is the state before the conversation changed anything.
      if (typeof id === 'string' && !has(orders, id)) {
        Object.defineProperty(orders, id, { value: o.result, enumerable: true, writable: true, configurable: true });
      }
    }
    return { orders };
  }

  call(world, request, _params) {
    const orders = own(world, 'orders');
    if (!isJsonObject(orders)) throw new PluginError('the world has no `orders` object');
    const id = request.argStr('order_id') ?? '';
    if (request.tool !== 'get_order' && request.tool !== 'cancel_order') return null; // not modelled: the gate applies its missing-fixture policy
    if (!has(orders, id)) return Simulated.error({ error: `no order ${id}` }, world);
    const order = orders[id];
    if (request.tool === 'get_order') return Simulated.ok(order, world);
    const status = own(order, 'status');
    if (status === 'open') {
      const after = cloneJson(world);
      after.orders[id].status = 'cancelled';
      return Simulated.ok({ ok: true }, after);
    }
    // A rejected call changes nothing.
    return Simulated.error({ error: `order ${id} is ${typeof status === 'string' ? status : 'unknown'}: it cannot be cancelled` }, world);
  }
}
