export { handlePoolXmlDbDump, serializePoolDump, dumpFieldName, poolXmlDbDumpPath, type DumpHandlerEnv, type DumpOptions } from './pool-xml-db-dump.js';
