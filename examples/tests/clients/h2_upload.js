// An HTTP/2 (h2c, prior knowledge) upload client on Node's `http2` module, the way an app sends
// a request: the whole body is written before the response is read. Used by tests/http2.rs.
//
//   node h2_upload.js URL METHOD SIZE TRIES HEADERS_JSON
//
// Each try opens a new session, sends METHOD URL with the headers, `content-length: SIZE` and
// SIZE bytes of body, and prints one JSON line: the status, the body as text, any stream or
// session error (or a timeout after 60 s), and the RST_STREAM code the stream closed with (0: NO_ERROR, or none).
'use strict';
const http2 = require('node:http2');

const [url, method, size, tries, headersJson] = process.argv.slice(2);
const target = new URL(url);
const bodySize = Number(size);
const chunk = Buffer.alloc(Math.min(bodySize, 1 << 20), 'x');

function attempt(n) {
  return new Promise((resolve) => {
    const result = { try: n, status: null, body: '', error: null, rstCode: null };
    const session = http2.connect(target.origin);
    // Bounded: a stream that never closes is reported, not waited on.
    const timer = setTimeout(() => {
      result.error = result.error || 'timeout: the stream did not close within 60 s';
      session.destroy();
      resolve(result);
    }, 60000);
    session.on('error', (error) => { result.error = result.error || `session: ${error.code || error.message}`; });
    const headers = { ':method': method, ':path': target.pathname, 'content-length': String(bodySize) };
    Object.assign(headers, JSON.parse(headersJson));
    const request = session.request(headers);
    request.setEncoding('utf8');
    request.on('response', (head) => { result.status = head[':status']; });
    request.on('data', (data) => { result.body += data; });
    request.on('error', (error) => { result.error = result.error || `stream: ${error.code || error.message}`; });
    request.on('close', () => {
      clearTimeout(timer);
      result.rstCode = request.rstCode === undefined ? null : request.rstCode;
      session.close();
      resolve(result);
    });
    // The whole body, before anything is read.
    let left = bodySize;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      request.write(n === chunk.length ? chunk : chunk.subarray(0, n));
      left -= n;
    }
    request.end();
  });
}

(async () => {
  for (let n = 0; n < Number(tries); n++) {
    const result = await attempt(n);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
})();
