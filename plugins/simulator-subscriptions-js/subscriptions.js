// simulator-subscriptions, in JavaScript: a port of plugins/simulator-subscriptions
// (Rust) that gives the same output bytes on every input. The billing backend of the
// example subscription-support domain (examples/agents/support_agent.py), as a pure
// function over a JSON world:
//
//   {"accounts": {"A-55812": {"record": {"account_id": "A-55812", "subscription_status": "none",
//                                        "plan": null, "supervisor_flag": false, "last_charge_amount": null},
//                             "emails": ["[EMAIL_1]"]}},
//    "refunds": []}
//
// * `seed` builds it from the first successful `lookup_account` of each account in the
//   recorded conversation (the state before anything was changed), keyed by account
//   id, with the e-mail the lookup used;
// * `lookup_account` (`email` or `account_id`) returns the account's record, or
//   `{"error": "no account found"}`;
// * `cancel_subscription` (`account_id`) behaves as the production tool does: an
//   `active` or `past_due` subscription becomes `cancelled` (`cancelled_subscriptions:
//   1`); any other status is left alone and the tool still says `ok` with
//   `cancelled_subscriptions: 0` (the Tuesday-morning enabler) — the world does not
//   change, only what the agent said about it;
// * `issue_refund` (`account_id`, `amount`) appends to `refunds` and returns a refund
//   id numbered in order (`R-SIM-1`, ...), deterministic;
// * any other tool is not modelled: the gate's missing-fixture policy applies.
//
// Where the Rust original reads a JSON value that may be missing or of another type
// (`value["key"]` is `null` then), this port does the same with `at`; accounts are
// searched in key order, as the Rust component's map iterates them. Values are
// `parseJsonExact` trees (floats are `F64`): copied with `cloneJson`, never rebuilt.

import { PluginError, PluginInfo, Simulated, cloneJson, compareCodePoints, isJsonObject } from '../../sdk/js/src/index.js';

export const LOOKUP = 'lookup_account';
export const CANCEL = 'cancel_subscription';
export const REFUND = 'issue_refund';

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

/** `value[k1][k2]...` as serde_json's `Index` reads it: `null` when a level is missing or not an object. */
function at(value, ...keys) {
  for (const k of keys) {
    if (!isJsonObject(value) || !has(value, k)) return null;
    value = value[k];
  }
  return value;
}

function strArg(args, key) {
  const v = at(args, key);
  return typeof v === 'string' ? v : null;
}

/** `[account id, account]` of the account the lookup arguments name, if the world has it. */
function find(world, args) {
  const accounts = at(world, 'accounts');
  if (!isJsonObject(accounts)) return null;
  const id = strArg(args, 'account_id');
  if (id !== null) return has(accounts, id) ? [id, accounts[id]] : null;
  const email = strArg(args, 'email');
  if (email === null) return null;
  for (const key of Object.keys(accounts).sort(compareCodePoints)) {
    const emails = at(accounts[key], 'emails');
    if (Array.isArray(emails) && emails.some((e) => e === email)) return [key, accounts[key]];
  }
  return null;
}

/** Appends to the list `key` of the world (created if missing); its new length. */
function push(world, key, item) {
  if (!isJsonObject(world)) throw new PluginError('the world is not an object');
  if (!has(world, key)) Object.defineProperty(world, key, { value: [], enumerable: true, writable: true, configurable: true });
  const list = world[key];
  if (!Array.isArray(list)) throw new PluginError(`world.${key} is not a list`);
  list.push(item);
  return list.length;
}

/** The subscription backend (all state is in the world). */
export class Subscriptions {
  info() {
    return new PluginInfo('simulator-subscriptions', '0.1.0', 'The example subscription backend: accounts and refunds');
  }

  seed(observed, _params) {
    const world = { accounts: {}, refunds: [] };
    for (const o of observed) {
      if (o.request.tool !== LOOKUP || o.isError) continue;
      const id = strArg(o.result, 'account_id');
      if (id === null) continue;
      if (!has(world.accounts, id)) Object.defineProperty(world.accounts, id, { value: { record: cloneJson(o.result), emails: [] }, enumerable: true, writable: true, configurable: true });
      const entry = world.accounts[id];
      const email = o.request.argStr('email');
      if (email !== null && !entry.emails.includes(email)) entry.emails.push(email);
    }
    return world;
  }

  call(world, request, _params) {
    if (!isJsonObject(at(world, 'accounts'))) throw new PluginError('the world has no `accounts` object');
    const args = request.arguments;
    switch (request.tool) {
      case LOOKUP: {
        const found = find(world, args);
        if (found === null) return Simulated.error({ error: 'no account found' }, world);
        return Simulated.ok(cloneJson(at(found[1], 'record')), world);
      }
      case CANCEL: {
        const found = find(world, { account_id: at(args, 'account_id') });
        if (found === null) return Simulated.error({ error: 'no such account' }, world);
        const [id, account] = found;
        const status = at(account, 'record', 'subscription_status');
        const live = status === 'active' || status === 'past_due';
        const after = cloneJson(world);
        if (live) after.accounts[id].record.subscription_status = 'cancelled';
        return Simulated.ok({ ok: true, cancelled_subscriptions: live ? 1 : 0 }, after);
      }
      case REFUND: {
        const found = find(world, { account_id: at(args, 'account_id') });
        if (found === null) return Simulated.error({ error: 'no such account' }, world);
        const after = cloneJson(world);
        const n = push(after, 'refunds', { account_id: found[0], amount: cloneJson(at(args, 'amount')) });
        return Simulated.ok({ ok: true, refund_id: `R-SIM-${n}` }, after);
      }
      default:
        return null;
    }
  }
}
