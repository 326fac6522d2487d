// s3torrent console: "Download in your browser". WebTorrent (loaded from the
// URL the operator configured) downloads the object in the page over WebRTC
// from other browsers found through the endpoint's WebSocket tracker, and
// from the web seed (the object's own URL) only while no other browser can
// supply a piece this one misses, or the download stalls: so a crowd of
// browsers fetches each byte from the origin about once.
(function () {
  'use strict';
  var button = document.getElementById('browser-download');
  if (!button) return;
  var d = button.dataset;
  var status = document.getElementById('browser-status');
  var progress = document.getElementById('browser-progress');
  var peersOut = document.getElementById('browser-peers');
  var save = document.getElementById('browser-save');
  var shaOut = document.getElementById('sha256');
  var started = false;
  function show(text) { status.textContent = text; }

  // The hex SHA-256 of the bytes (crypto.subtle: a secure context, which
  // WebTorrent needs anyway for its own hashing).
  function sha256(buffer) {
    return crypto.subtle.digest('SHA-256', buffer).then(function (digest) {
      return Array.from(new Uint8Array(digest), function (x) {
        return ('0' + x.toString(16)).slice(-2);
      }).join('');
    });
  }

  function mib(n) { return (n / 1048576).toFixed(1) + ' MiB'; }

  // Whether a connected browser has a piece this one misses.
  function canSupply(torrent, wire) {
    if (wire.type === 'webSeed' || wire.peerChoking) return false;
    for (var i = 0; i < torrent.pieces.length; i++) {
      if (wire.peerPieces.get(i) && !torrent.bitfield.get(i)) return true;
    }
    return false;
  }

  function loadWebTorrent(url) {
    return import(url).then(function (m) {
      return m.default || window.WebTorrent;
    });
  }

  function start() {
    if (started) return;
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      show('Downloading in the browser needs this page over HTTPS (WebTorrent hashes ' +
        'with the browser\'s crypto, which plain HTTP pages lack).');
      return;
    }
    started = true;
    button.disabled = true;
    show('Loading WebTorrent…');
    var WebTorrent;
    loadWebTorrent(d.webtorrent).then(function (W) {
      WebTorrent = W;
      show('Fetching the torrent…');
      return fetch(d.torrent);
    }).then(function (r) {
      if (!r.ok) throw new Error('the torrent: HTTP ' + r.status);
      return r.arrayBuffer();
    }).then(function (bytes) {
      // Web seeds are added by hand below, not from the torrent's url-list.
      var client = new WebTorrent({ webSeeds: false });
      client.on('error', function (e) { show('Error: ' + (e.message || e)); });
      show('Looking for peers…');
      var torrent = client.add(new Uint8Array(bytes), { strategy: 'rarest' }, function () {
        run(torrent, swarm);
      });
      // How many others the WebSocket tracker knows in this swarm: its
      // first answer says whether to wait for them or take the web seed.
      // Without a WebSocket tracker no browser is found: the web seed at once.
      var swarm = { others: d.wsTracker === 'yes' ? null : 0, heardAt: 0 };
      var hook = setInterval(function () {
        var tracker = torrent.discovery && torrent.discovery.tracker;
        if (!tracker) return;
        clearInterval(hook);
        tracker.on('update', function (data) {
          var others = (data.complete || 0) + (data.incomplete || 0) - 1;
          if (swarm.others === null) swarm.heardAt = Date.now();
          swarm.others = Math.max(swarm.others || 0, others);
        });
      }, 50);
    }).catch(function (e) {
      show('Error: ' + (e && e.message ? e.message : e));
      started = false;
      button.disabled = false;
    });
  }

  // The web seed is held back while another browser has a piece this one
  // misses (unless nothing arrived for STALL ms), and at first while the
  // tracker has not answered or says others are here but none is
  // connected yet (at most PATIENCE ms).
  var STALL = 3000;
  var PATIENCE = 8000;
  // A web seed held to this browser's share is let loose once nothing
  // arrived for this long.
  var SHARE_IDLE = 1000;
  // While other browsers are connected, each takes from the web seed only
  // its share of the pieces (every n-th, by its rank among the peer ids
  // they all see), so that they do not fetch the same piece from the
  // origin at once; all of them once nothing arrived for SHARE_IDLE ms.
  function share(torrent, seedWire, all) {
    var mine = torrent.client.peerId;
    var ids = [mine];
    torrent.wires.forEach(function (w) {
      if (w.type !== 'webSeed' && w.peerId) ids.push(w.peerId);
    });
    ids.sort();
    var n = ids.length;
    var rank = ids.indexOf(mine);
    var changed = false;
    for (var i = 0; i < torrent.pieces.length; i++) {
      var offer = all || n === 1 || i % n === rank;
      if (seedWire.peerPieces.get(i) !== offer) {
        seedWire.peerPieces.set(i, offer);
        changed = true;
      }
    }
    if (changed && typeof torrent._update === 'function') torrent._update();
  }

  function run(torrent, swarm) {
    var seed = d.webseed;
    var seeding = false;
    var last = 0;
    var startAt = Date.now();
    var lastAt = startAt;
    var ticker = setInterval(tick, 250);
    function tick() {
      if (torrent.done) return;
      var now = Date.now();
      if (torrent.downloaded > last) { last = torrent.downloaded; lastAt = now; }
      var stalled = now - lastAt > STALL;
      var supply = torrent.wires.some(function (w) { return canSupply(torrent, w); });
      var connected = torrent.wires.some(function (w) { return w.type !== 'webSeed'; });
      var hold;
      if (supply) hold = !stalled;
      else if (swarm.others === null) hold = now - startAt < PATIENCE;
      else if (swarm.others > 0 && !connected) hold = now - swarm.heardAt < PATIENCE;
      else hold = false;
      var seedWire = torrent.wires.find(function (w) { return w.type === 'webSeed'; });
      if (seedWire) share(torrent, seedWire, now - lastAt > SHARE_IDLE);
      if (seed && !seeding && !hold) {
        seeding = true;
        torrent.addWebSeed(seed);
      } else if (seeding && hold && (!seedWire || seedWire.requests.length === 0)) {
        seeding = false;
        torrent.removePeer(seed);
      }
      var browsers = torrent.wires.filter(function (w) { return w.type !== 'webSeed'; }).length;
      progress.value = torrent.progress;
      progress.textContent = Math.round(torrent.progress * 100) + '%';
      peersOut.textContent = browsers + ' browser' + (browsers === 1 ? '' : 's') +
        (seeding ? ' and the web seed' : '');
      show(mib(torrent.downloaded) + ' of ' + mib(torrent.length) + ' (' +
        mib(torrent.downloadSpeed) + '/s)');
    }
    tick();
    torrent.on('done', function () {
      clearInterval(ticker);
      if (seeding) torrent.removePeer(seed);
      progress.value = 1;
      progress.textContent = '100%';
      show('Downloaded and verified; checking its SHA-256…');
      var file = torrent.files[0];
      file.arrayBuffer().then(function (buffer) {
        var blob = new Blob([buffer]);
        save.href = URL.createObjectURL(blob);
        save.download = file.name;
        save.hidden = false;
        return sha256(buffer);
      }).then(function (hex) {
        shaOut.textContent = hex;
        show('Done: ' + mib(torrent.length) + '; sharing with other browsers while this page is open.');
      }).catch(function (e) { show('Error: ' + (e && e.message ? e.message : e)); });
    });
  }

  button.addEventListener('click', start);
  if (location.hash === '#download') start();
  window.addEventListener('hashchange', function () {
    if (location.hash === '#download') start();
  });
})();
