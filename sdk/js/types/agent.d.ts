// Types of @ratchet-dev/sdk/agent (src/agent.js): put an existing agent under `ratchet gate`.

export declare const PROTOCOL: 1;

export declare class Escalate {
  constructor(reason?: string);
  reason: string;
}

export declare class ToolError extends Error {
  constructor(tool: string, content: unknown);
  tool: string;
  content: unknown;
}

export declare class ProtocolError extends Error {}

export declare class SessionEnded extends Error {
  session: string;
}

export interface Turn {
  role: 'customer' | 'agent' | 'tool';
  text?: string;
  tool_calls?: { id: string; name: string; arguments: Record<string, unknown> }[];
  tool_result?: { call_id: string; name: string; content: unknown; is_error: boolean };
}

export declare class Session {
  constructor(id: string, init?: { scenario?: string; channel?: string; state?: Record<string, unknown> });
  id: string;
  scenario: string;
  channel: string;
  /** The agent state snapshot, as sent in session.start. */
  state: Record<string, any>;
  /** memory_snapshot as key -> value (first entry of a key wins). */
  memory: Record<string, unknown>;
  /** Yours, for the length of the session. */
  data: Record<string, any>;
  turns: Turn[];
  escalated: string | null;
  readonly toolVersions: Record<string, string>;
  escalate(reason?: string): void;
}

export type Respond = (turns: Turn[], session: Session) => string | Escalate | Promise<string | Escalate>;

export declare function serve(
  respond: Respond,
  options?: { agent?: string; version?: string; input?: NodeJS.ReadableStream; output?: (line: string) => void; log?: (text: string) => void },
): Promise<0 | 1 | 2>;

export declare function tool<A extends Record<string, unknown>, R>(
  fn: (args: A, ...rest: any[]) => R | Promise<R>,
  options?: { name?: string; version?: string },
): (args: A, ...rest: any[]) => Promise<R>;

export declare function escalation<A, R>(
  fn: (args: A, ...rest: any[]) => R | Promise<R>,
  options?: { reason?: string; result?: unknown },
): (args: A, ...rest: any[]) => Promise<R | unknown>;

export declare function currentSession(): Session | null;
export declare function underGate(): boolean;
