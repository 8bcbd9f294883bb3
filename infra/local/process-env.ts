/**
 * The local runtime's defaults for the handlers' environment, set when this module is evaluated:
 * before any handler module is, because Powertools reads them when a logger or a metrics object is
 * constructed (at import), not when it is used. Imported first by runtime.ts. Anything the user set
 * is kept.
 */
// A line of EMF per invocation is how a Lambda function publishes metrics; on a developer's terminal
// it is noise, and its cost lands on every request.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// Node 20 is supported here; the SDK's notice about its future Node 22 floor is noise locally.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
