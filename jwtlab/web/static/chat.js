// The live chat on the room page: plain JavaScript, no build step, no libraries.
// It opens /rooms/<room>/ws (the browser sends the room's HttpOnly cookie itself),
// shows the history, new messages and who is here, and, when the server closes the
// socket (logout, expiry, another room), says why.
(function () {
  "use strict";
  var section = document.getElementById("chat");
  if (!section || !window.WebSocket || !window.JSON) {
    return;
  }
  var room = section.getAttribute("data-room");
  var list = document.getElementById("messages");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("text");
  var button = document.getElementById("send");
  var statusLine = document.getElementById("chat-status");
  var presence = document.getElementById("presence");
  var errorBox = document.getElementById("chat-error");
  var shown = {};
  var closedDetail = null;

  function setStatus(kind, text) {
    statusLine.className = kind;
    statusLine.textContent = text;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function clock(ts) {
    var when = new Date(ts * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(when.getUTCHours()) + ":" + two(when.getUTCMinutes()) + ":" + two(when.getUTCSeconds());
  }

  function addMessage(message) {
    if (shown[message.id]) {
      return;
    }
    shown[message.id] = true;
    var item = document.createElement("li");
    item.setAttribute("data-id", message.id);
    var time = document.createElement("time");
    time.textContent = clock(message.ts);
    var name = document.createElement("strong");
    name.textContent = message.from;  // textContent: a name is shown, never run
    item.appendChild(time);
    item.appendChild(name);
    item.appendChild(document.createTextNode(": " + message.text));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + window.location.host + "/rooms/" +
                             encodeURIComponent(room) + "/ws");

  socket.onopen = function () {
    section.setAttribute("data-state", "open");
    setStatus("notice", "Live: connected to #" + room + ".");
  };

  socket.onmessage = function (event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (frame.type === "history") {
      list.innerHTML = "";
      shown = {};
      for (var i = 0; i < frame.messages.length; i++) {
        addMessage(frame.messages[i]);
      }
    } else if (frame.type === "message") {
      addMessage(frame);
    } else if (frame.type === "presence") {
      presence.textContent = frame.members.length ? frame.members.join(", ") : "nobody";
    } else if (frame.type === "error") {
      showError("Not sent: " + frame.detail);
    } else if (frame.type === "closed") {
      closedDetail = frame.detail;
    }
  };

  socket.onclose = function (event) {
    section.setAttribute("data-state", "closed");
    section.setAttribute("data-close-code", String(event.code));
    input.disabled = true;
    button.disabled = true;
    var why = closedDetail || event.reason || "the connection was lost";
    setStatus("error", "Disconnected (" + event.code + "): " + why +
              ". Reload the page or open the room again.");
  };

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket.readyState !== WebSocket.OPEN || !input.value.replace(/\s+/g, "")) {
      return;
    }
    showError("");
    socket.send(JSON.stringify({ text: input.value }));
    input.value = "";
  });
}());
