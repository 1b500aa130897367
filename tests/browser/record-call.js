// Installed by tests/test_call.py in the call pages before their own scripts: records what the page sends over its
// WebRTC data channels and over its signalling BroadcastChannel, and every reaction burst shown on a tile (bursts
// leave when their animation ends, so they are caught as they are added).
() => {
  const call = window.__call = {sent: [], signalled: [], bursts: []};
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    call.sent.push(data);
    return send.call(this, data);
  };
  const postMessage = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (message) {
    call.signalled.push(message);
    return postMessage.call(this, message);
  };
  new MutationObserver((records) => {
    for (const node of records.flatMap((record) => [...record.addedNodes])) {
      if (!node.classList?.contains('tile-burst')) continue;
      const tile = node.closest('figure');
      call.bursts.push({tile: tile.id, caption: tile.querySelector('figcaption').textContent,
        emoji: node.textContent});
    }
  }).observe(document, {childList: true, subtree: true});
}
