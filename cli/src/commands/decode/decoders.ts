// One import per decoder family; each module calls registerDecoder() for its formats.
export {};
