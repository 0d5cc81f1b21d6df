// rasa-webchat 1.0.1 as its README shows it, against the assistant's socket.io channel.
window.WebChat.default({
  socketUrl: document.body.getAttribute("data-socket-url"),
  socketPath: "/socket.io/",
  title: "Riverside Physio",
  initPayload: "/greet",
  embedded: true,
  customData: { client: "widget" },
  params: { storage: "session" }
}, document.getElementById("webchat"));
