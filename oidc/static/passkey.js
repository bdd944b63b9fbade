// Passkey login on the login page: with no PIN typed, use the options of
// the discoverable ceremony the page carries (data-options: the browser
// offers the citizen's passkeys for this site); with a PIN, ask the
// provider for the options of a WebAuthn assertion for that PIN. Let the
// browser's authenticator
// sign the challenge, and post the answer as an ordinary form so the
// browser follows the provider's redirects to consent. Served as a file,
// not inline, so the page's Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  var box = document.getElementById("passkey");
  if (!box || !window.PublicKeyCredential || !navigator.credentials) {
    return; // no WebAuthn here: the password form stays the only way
  }
  box.hidden = false;
  var form = document.getElementById("passkey-form");
  // The request's fields (id, csrf, and ar while it is sealed) are the
  // login form's, in the page once: they are copied into the passkey form
  // as it is posted.
  // A page of an earlier release (a rolling upgrade, a cached page) has
  // them in the passkey form itself: then that form is read, and nothing
  // copied.
  var login = document.getElementById("login-form") || form;
  var errorBox = document.getElementById("passkey-error");
  var button = document.getElementById("passkey-button");

  function fromB64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function show(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = false;
    button.disabled = false;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    errorBox.hidden = true;
    var pin = (document.getElementById("pin").value || "").trim();
    var options;
    if (!pin && box.dataset.options) {
      options = Promise.resolve(JSON.parse(box.dataset.options));
    } else {
      var body = new URLSearchParams();
      body.set("id", login.elements.namedItem("id").value);
      body.set("csrf", login.elements.namedItem("csrf").value);
      body.set("pin", pin);
      var sealed = login.elements.namedItem("ar");
      if (sealed) body.set("ar", sealed.value);
      options = fetch(box.dataset.begin, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (res) {
          return res.json().then(function (j) {
            if (!res.ok) throw new Error(j.message || box.dataset.failed);
            // The provider has stored the request with this ceremony:
            // the finish names it by its ID alone.
            if (sealed) sealed.value = "";
            return j;
          });
        });
    }
    options
      .then(function (opts) {
        var pk = opts.publicKey;
        pk.challenge = fromB64u(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
        return navigator.credentials.get({ publicKey: pk });
      })
      .then(function (cred) {
        var r = cred.response;
        document.getElementById("credential").value = JSON.stringify({
          id: cred.id,
          rawId: toB64u(cred.rawId),
          type: cred.type,
          response: {
            clientDataJSON: toB64u(r.clientDataJSON),
            authenticatorData: toB64u(r.authenticatorData),
            signature: toB64u(r.signature),
            userHandle: r.userHandle ? toB64u(r.userHandle) : undefined
          }
        });
        ["id", "csrf", "ar"].forEach(function (name) {
          var field = login.elements.namedItem(name);
          if (field && field.value && login !== form) {
            var copy = document.createElement("input");
            copy.type = "hidden";
            copy.name = name;
            copy.value = field.value;
            form.appendChild(copy);
          }
        });
        form.submit();
      })
      .catch(function (err) {
        // A cancelled or failed ceremony: say so in the page's language.
        show(err && err.name === "Error" && err.message ? err.message : box.dataset.failed);
      });
  });
})();
