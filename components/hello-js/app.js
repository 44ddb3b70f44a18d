// hello-js: the hello component written in JavaScript (benchmark W1js).
//
// Same answer as hello-proxy (every request: 200, `text/plain; charset=utf-8`, body
// `Hello from spin-py!`), for the plain wasi:http/proxy world. StarlingMonkey, the JavaScript
// engine componentize-js embeds, turns each call of the exported wasi:http incoming-handler
// into a `fetch` event; the response is built with the web `Response` API.
const GREETING = "Hello from spin-py!";

addEventListener("fetch", (event) => {
  event.respondWith(
    new Response(GREETING, {
      status: 200,
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
  );
});
