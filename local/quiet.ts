/**
 * The local tools run on Node 20 by design (the functions deploy on Node 24): the AWS SDK's notice
 * that its 2027 releases will need Node 22 says nothing to act on here, once per process. Imported
 * first by each entry point; the stack's child processes inherit the setting.
 */
if (Number(process.versions.node.split('.')[0]) < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
