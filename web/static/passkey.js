// Adding a passkey from the account page (progressive enhancement: the
// button appears only with this script). The server starts the WebAuthn
// ceremony (eid.BeginPasskeyRegistration), the browser asks the
// authenticator, the server checks its answer (FinishPasskeyRegistration).
(function () {
  "use strict";
  var box = document.getElementById("passkey");
  if (!box || !window.PublicKeyCredential) return;
  var en = document.documentElement.lang === "en";
  var button = document.getElementById("add-passkey");
  var state = document.getElementById("passkey-state");

  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    var bin = atob(s + "===".slice((s.length + 3) % 4)), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      body: body ? JSON.stringify(body) : "{}"
    }).then(function (res) {
      return res.json().catch(function () {
        // Not JSON: the portal's error page (the session ended or the form expired).
        return { message_vi: "Phiên làm việc đã hết hạn; hãy tải lại trang.", message_en: "The session has expired; reload the page." };
      }).then(function (j) {
        if (!res.ok) throw new Error(en ? j.message_en : j.message_vi);
        return j;
      });
    });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    var challenge;
    post("/portal/account/passkey/begin").then(function (reg) {
      challenge = reg.challenge_id;
      var pk = reg.options.publicKey;
      pk.challenge = bytes(pk.challenge);
      pk.user.id = bytes(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
      return navigator.credentials.create({ publicKey: pk });
    }).then(function (cred) {
      var r = cred.response;
      var name = document.getElementById("passkey-name").value;
      return post("/portal/account/passkey/finish?challenge_id=" + encodeURIComponent(challenge) + "&name=" + encodeURIComponent(name), {
        id: cred.id, rawId: b64u(cred.rawId), type: cred.type,
        response: {
          clientDataJSON: b64u(r.clientDataJSON), attestationObject: b64u(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : []
        },
        clientExtensionResults: cred.getClientExtensionResults()
      });
    }).then(function () {
      location.href = "/portal/account?added=passkey";
    }).catch(function (e) {
      state.textContent = e.message || String(e);
      button.disabled = false;
    });
  });
})();
