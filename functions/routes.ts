/**
 * The HTTP API's route table lives beside the API's description (lib/http/routes.ts); this module
 * adds where each function's code is, which only the adapters (the CDK app, the local stack) need.
 */
export * from '../lib/http/routes';

/** Entry files of the Lambda functions (bundled by esbuild in the CDK app, imported by the local stack). */
export const FUNCTION_ENTRIES = {
  collect: 'functions/collect/handler.ts',
  profiles: 'functions/profiles/handler.ts',
  decide: 'functions/decide/handler.ts',
  privacy: 'functions/privacy/handler.ts',
  campaigns: 'functions/campaigns/handler.ts',
  ingest: 'functions/ingest/handler.ts',
  trigger: 'functions/activate/trigger.ts',
  send: 'functions/activate/send.ts',
} as const;
