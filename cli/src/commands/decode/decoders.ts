// One import per decoder family; each module calls registerDecoder() for its formats.
import './multipath-decoders.js';
import './scsi-decoders.js';
import './storage-decoders.js';
export {};
