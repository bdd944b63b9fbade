// The web wallet's key, progressive enhancement: the portal's pages show
// documents without it. The holder key is a P-256 key made by WebCrypto
// with a non-extractable private half, kept in this browser's IndexedDB;
// only the public JWK goes to the server. Presenting signs the key-binding
// JWT's signing input that the server prepared (ES256: WebCrypto's ECDSA
// signature is already the raw r||s that JWS wants).
(function () {
  "use strict";
  var DB = "cancuoc-wallet", STORE = "keys", ID = "holder";
  var en = document.documentElement.lang === "en";
  function t(vi, e) { return en ? e : vi; }

  function open() {
    return new Promise(function (ok, ko) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { ko(r.error); };
    });
  }
  function run(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (ok, ko) {
        var q = fn(db.transaction(STORE, mode).objectStore(STORE));
        q.onsuccess = function () { ok(q.result); };
        q.onerror = function () { ko(q.error); };
      });
    });
  }
  // expired stands for a non-JSON answer: the portal's error page (the
  // session ended or the form expired).
  function expired() {
    return { message_vi: "Phiên làm việc đã hết hạn; hãy tải lại trang.", message_en: "The session has expired; reload the page." };
  }
  function getKey() { return run("readonly", function (s) { return s.get(ID); }); }
  function putKey(v) { return run("readwrite", function (s) { return s.put(v, ID); }); }

  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // RFC 7638 thumbprint: the key's ID on the server (documents name it).
  function thumbprint(jwk) {
    var canon = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(canon)).then(b64u);
  }

  // The documents page: mark the documents bound to this browser's key,
  // and offer to make this browser the wallet.
  var box = document.getElementById("web-wallet");
  if (box) {
    var state = document.getElementById("wallet-state");
    var button = document.getElementById("use-browser");
    getKey().then(function (k) {
      if (!k) { state.textContent = t("Trình duyệt này chưa có khoá ví.", "This browser has no wallet key yet."); return; }
      return thumbprint(k.jwk).then(function (tp) {
        box.dataset.thumbprint = tp;
        state.textContent = t("Trình duyệt này có khoá ví ", "This browser holds wallet key ") + tp.slice(0, 12) + "…";
        document.querySelectorAll("tr[data-key]").forEach(function (row) {
          if (row.dataset.key === tp) {
            row.querySelector(".keystate").textContent = t("trình duyệt này", "this browser");
            row.classList.add("here");
          }
        });
      });
    }).catch(function (e) { state.textContent = String(e); });
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        button.disabled = true;
        var pair;
        crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]).then(function (p) {
          pair = p;
          return crypto.subtle.exportKey("jwk", p.publicKey);
        }).then(function (jwk) {
          var pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
          return fetch("/portal/documents/key", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
            body: JSON.stringify({ jwk: pub })
          }).then(function (res) {
            return res.json().catch(expired).then(function (body) {
              if (!res.ok) throw new Error(en ? body.message_en : body.message_vi);
              return putKey({ priv: pair.privateKey, jwk: pub }).then(function () {
                location.href = "/portal/documents?key=" + body.reissued;
              });
            });
          });
        }).catch(function (e) {
          state.textContent = e.message || String(e);
          button.disabled = false;
        });
      });
    }
  }

  // The signing page: sign the prepared input and post the presentation.
  var form = document.getElementById("sign");
  if (form) {
    var sstate = document.getElementById("sign-state");
    var sbutton = document.getElementById("sign-button");
    sbutton.hidden = false;
    sbutton.addEventListener("click", function () {
      sbutton.disabled = true;
      getKey().then(function (k) {
        if (!k) throw new Error(t("Trình duyệt này chưa có khoá ví: hãy dùng nó làm ví ở trang Giấy tờ.", "This browser has no wallet key: make it your wallet on the Documents page."));
        var input = form.dataset.input;
        return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, k.priv, new TextEncoder().encode(input)).then(function (sig) {
          form.elements.presentation.value = form.dataset.sdjwt + input + "." + b64u(sig);
          form.submit();
        });
      }).catch(function (e) {
        sstate.textContent = e.message || String(e);
        sbutton.disabled = false;
      });
    });
  }
})();
