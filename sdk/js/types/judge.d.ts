// Types of src/judge.js (import '<sdk>/src/judge.js'): ask a language model from an
// LLM-judged scorecard or assertion. See sdk/js/README.md, "Asking a model".
import { Conversation, PluginError } from './index';

export const ROLES: ['system', 'user', 'assistant'];

export class Message {
  constructor(role: 'system' | 'user' | 'assistant', content: string);
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export class Request {
  constructor(options?: { model?: string; messages?: Message[]; temperature?: number; maxTokens?: number | null; jsonSchema?: unknown });
  /** Model id; empty means the judge model configured in `[model]`. */
  model: string;
  messages: Message[];
  temperature: number;
  maxTokens: number | null;
  jsonSchema: unknown;
  system(text: string): this;
  user(text: string): this;
  assistant(text: string): this;
  withModel(model: string): this;
  withMaxTokens(n: number): this;
  withTemperature(t: number): this;
  schema(schema: unknown): this;
}

export class Response {
  constructor(content: string, model?: string, key?: string);
  content: string;
  model: string;
  /** `sha256:<hex>` of the canonical request. */
  key: string;
  static text(content: string): Response;
}

export type JudgeErrorKind = 'denied' | 'notRecorded' | 'unavailable' | 'invalid';

export class JudgeError extends PluginError {
  constructor(kind: JudgeErrorKind, detail: string);
  kind: JudgeErrorKind;
  /** The host's explanation (the message without its `model ...:` prefix). */
  detail: string;
  static denied(detail: string): JudgeError;
  static notRecorded(detail: string): JudgeError;
  static unavailable(detail: string): JudgeError;
  static invalid(detail: string): JudgeError;
}

/** Native tests only: answers `complete` calls; `null` removes it. */
export function setNativeJudge(fn: ((request: Request) => Response | string) | null): void;
export function complete(request: Request): Response;
/** `[answer read as serde_json reads it, response]`; throws `PluginError`. */
export function completeJson(request: Request): [unknown, Response];
export function renderTranscript(conversation: Conversation): string;
export function yesNoSchema(): object;

export class YesNo {
  constructor(yes: boolean, reason: string, turn?: number | null);
  yes: boolean;
  reason: string;
  turn: number | null;
  /** `judge: <reason>` (`judge: yes` / `judge: no` when there is none). */
  reasonLine(): string;
}

export function parseYesNo(answer: unknown, turns: number): YesNo;
