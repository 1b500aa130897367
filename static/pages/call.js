/**
 * The two-person call page (/call?room=NAME&name=YOU): what a meeting app writes around the widget in a real call.
 * It opens the camera once, joins the room (call-room.js: BroadcastChannel signalling, WebRTC media), runs the
 * widget on the call's own stream, and sends each reaction over the call's data channel; a reaction shows as a burst
 * on the sender's tile, on both sides, and a raised hand (a model with a raise-hand gesture) as ✋ on the tile until it
 * is lowered.
 */

import {CallRoom} from './call-room.js';

const DEFAULT_ROOM = 'lobby';
const NAMES = ['Alex', 'Sam', 'Robin', 'Kim', 'Noor', 'Ari', 'Mika', 'Jo', 'Lee', 'Sasha'];
const MAX_EMOJI_LENGTH = 16; // what the demo's emoji fields allow

const params = new URLSearchParams(location.search);
const room = params.get('room')?.trim().slice(0, 40) || DEFAULT_ROOM;
const name = params.get('name')?.trim().slice(0, 40) || NAMES[Math.floor(Math.random() * NAMES.length)];

const widget = document.querySelector('gesture-reactions');
const status = document.getElementById('call-status');
const announcer = document.getElementById('call-announcer');
const tiles = {local: document.getElementById('tile-local'), remote: document.getElementById('tile-remote')};
const video = (tile) => tile.querySelector('video');
const caption = (tile) => tile.querySelector('figcaption');

document.getElementById('room').value = room;
document.getElementById('name').value = name;
caption(tiles.local).textContent = `${name} (you)`;

/** An emoji rising over a tile; gone when its animation ends. */
function burst(tile, emoji) {
  const shown = document.createElement('span');
  shown.className = 'tile-burst';
  shown.textContent = emoji;
  shown.addEventListener('animationend', () => shown.remove());
  tile.querySelector('.tile-bursts').append(shown);
}

function showState({state, peer, left}) {
  const remote = tiles.remote;
  remote.dataset.state = state === 'full' ? 'waiting' : state;
  const waiting = state === 'waiting' || state === 'full';
  caption(remote).textContent = waiting ? 'Waiting for someone' : peer;
  if (waiting) video(remote).srcObject = null;
  const gone = left ? `${left} left. ` : '';
  status.textContent = {
    waiting: `${gone}Waiting for someone to join room “${room}”: open this page, with the same room, in another tab.`,
    connecting: `Connecting to ${peer}…`,
    connected: `In a call with ${peer} in room “${room}”.`,
    full: `Room “${room}” already has two participants: pick another room above.`,
  }[state];
}

/** A raised hand's emoji on a tile, or none once it is lowered. */
function showHand(tile, emoji) {
  const hand = tile.querySelector('.tile-hand');
  hand.hidden = !emoji;
  hand.textContent = emoji;
}

const isEmoji = (emoji) => typeof emoji === 'string' && emoji.length > 0 && emoji.length <= MAX_EMOJI_LENGTH;

/** A reaction, or a hand raised or lowered, from the other side, as the listeners below send them; else dropped. */
function showRemoteMessage(from, {emoji, hand}) {
  if (!isEmoji(emoji)) return;
  if (hand === 'raised' || hand === 'lowered') {
    showHand(tiles.remote, hand === 'raised' ? emoji : '');
    announcer.textContent = `${from} ${hand} their hand`;
    return;
  }
  burst(tiles.remote, emoji);
  announcer.textContent = `${from} reacted ${emoji}`;
}

async function openCall() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 640}, height: {ideal: 480}}});
  } catch (error) {
    status.textContent = `The call needs your camera, which could not be opened (${error.message}).`;
    return;
  }
  video(tiles.local).srcObject = stream;
  // the widget runs on the call's stream: no second camera, and stopping the widget leaves the call's video on
  widget.srcObject = stream;
  widget.start().catch(() => {}); // a failure shows in the widget, and the reaction buttons still work

  const call = new CallRoom(room, name, stream);
  let raised = ''; // this participant's raised hand's emoji, sent again to whoever joins
  call.addEventListener('state', ({detail}) => {
    showState(detail);
    if (detail.state === 'waiting') showHand(tiles.remote, '');
    if (detail.state === 'connected' && raised) call.send({hand: 'raised', emoji: raised});
    if (detail.state === 'full') { // nothing to show or send: only the message stays
      widget.close();
      for (const track of stream.getTracks()) track.stop();
      for (const id of ['call-tiles', 'call-widget']) document.getElementById(id).hidden = true;
    }
  });
  call.addEventListener('track', ({detail}) => {
    video(tiles.remote).srcObject = detail;
  });
  call.addEventListener('message', ({detail: {from, message}}) => showRemoteMessage(from, message));
  widget.addEventListener('reaction', ({detail: {gesture, emoji, source}}) => {
    burst(tiles.local, emoji); // the widget announces it to this participant itself
    call.send({gesture, emoji, source});
  });
  for (const type of ['raise-hand', 'lower-hand']) {
    widget.addEventListener(type, ({detail: {emoji}}) => {
      raised = type === 'raise-hand' ? emoji : '';
      showHand(tiles.local, raised);
      call.send({hand: raised ? 'raised' : 'lowered', emoji});
    });
  }
  // pagehide, not unload: it also fires when the page goes into the back-forward cache, and pageshow brings it back
  addEventListener('pagehide', () => call.leave());
  addEventListener('pageshow', ({persisted}) => {
    if (persisted) call.join();
  });
  call.join();
}

openCall();
