/**
 * Wire types of the OpenAI Responses API (POST /v1/responses): the request, its input items, the
 * response object and its output items. Only what spillway reads or writes is typed; see
 * ../shared/reference/wire-facts.md §9.
 */
import type { OpenAIErrorBody } from '../../protocol/openai.js';

export type JsonObject = Record<string, unknown>;

export interface ResponsesRequest {
  model: string;
  input?: string | InputItem[];
  instructions?: string | null;
  previous_response_id?: string | null;
  tools?: JsonObject[];
  tool_choice?: string | JsonObject;
  parallel_tool_calls?: boolean | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  reasoning?: { effort?: string | null; summary?: string | null } | null;
  text?: { format?: TextFormat; verbosity?: string } | null;
  metadata?: Record<string, string> | null;
  store?: boolean | null;
  include?: string[] | null;
  stream?: boolean | null;
  user?: string;
  [field: string]: unknown;
}

export type TextFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema?: JsonObject; strict?: boolean | null; description?: string };

/** An input item as the client sent it: read field by field, since any of them may be new. */
export type InputItem = JsonObject;

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs?: unknown[];
}

export interface MessageItem {
  type: 'message';
  id: string;
  role: 'assistant';
  status: ItemStatus;
  content: OutputText[];
}

export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export interface SummaryText {
  type: 'summary_text';
  text: string;
}

export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  summary: SummaryText[];
  status?: ItemStatus;
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'completed' | 'incomplete' | 'failed' | 'in_progress';

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  model: string;
  output: OutputItem[];
  usage: ResponsesUsage | null;
  [echoed: string]: unknown;
}

export type ResponsesErrorBody = OpenAIErrorBody;
