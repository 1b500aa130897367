/**
 * A two-person call room between tabs of one browser. Signalling goes over a BroadcastChannel named after the room,
 * so the server takes no part (it serves the page and receives nothing); camera and reactions go over WebRTC
 * (call-peer.js).
 *
 * Signalling, every message {type, from, to?}: a tab that joins says `hello` (with its name); a tab that is alone
 * answers `welcome` and both pair; a tab already in a call answers `full`. Of a pair, the tab with the greater id
 * offers, so two tabs that join at the same moment (each answering the other's hello) never both offer. Then
 * `description` and `candidate` carry the WebRTC negotiation, and `bye` (on leaving) puts the other tab back to
 * waiting for someone.
 *
 * Events: 'state' ({detail: {state: 'waiting' | 'connecting' | 'connected' | 'full', peer: name or null,
 * left: the name of who just left, or null}}), 'track' ({detail: the other's MediaStream}), 'message' ({detail:
 * {from: name, message}}).
 */

import {CallPeer} from './call-peer.js';

export class CallRoom extends EventTarget {
  #room;
  #name;
  #stream;
  #id = crypto.randomUUID();
  #channel = null;
  #peer = null; // {id, name, connection: CallPeer}

  /**
   * @param {string} room the room's name: tabs in the same room meet
   * @param {string} name this participant's, shown to the other
   * @param {MediaStream} stream this tab's camera
   */
  constructor(room, name, stream) {
    super();
    this.#room = room;
    this.#name = name;
    this.#stream = stream;
  }

  join() {
    if (this.#channel) return;
    this.#channel = new BroadcastChannel(`gesture-reactions-call:${this.#room}`);
    this.#channel.addEventListener('message', ({data}) => this.#receive(data));
    this.#emit('waiting');
    this.#post({type: 'hello', name: this.#name});
  }

  /** Say goodbye and close the connection; join() enters again. */
  leave() {
    if (!this.#channel) return;
    if (this.#peer) this.#post({type: 'bye', to: this.#peer.id});
    this.#hangUp();
    this.#channel.close();
    this.#channel = null;
  }

  /** Send a JSON message to the other participant; false when not connected. */
  send(message) {
    return this.#peer?.connection.send(message) ?? false;
  }

  #receive(data) {
    const {type, from, to} = data ?? {};
    if (to && to !== this.#id) return;
    const peer = this.#peer;
    if (type === 'hello' || type === 'welcome') {
      if (!peer) {
        this.#pair(from, data.name);
        if (type === 'hello') this.#post({type: 'welcome', to: from, name: this.#name});
      } else if (peer.id !== from) {
        this.#post({type: 'full', to: from});
      }
    } else if (type === 'full' && (!peer || peer.id === from)) {
      this.leave();
      this.#emit('full');
    } else if (peer?.id !== from) {
      // signalling of another pair, or of a tab that left
    } else if (type === 'bye') {
      this.#hangUp();
      this.#emit('waiting', peer.name);
    } else if (type === 'description' || type === 'candidate') {
      peer.connection.signal(data).catch((error) => console.error('gesture-reactions call: signalling', error));
    }
  }

  #pair(id, name) {
    const connection = new CallPeer(this.#stream, (message) => this.#post({...message, to: id}));
    const peer = this.#peer = {id, name: typeof name === 'string' ? name.slice(0, 40) : 'Guest', connection};
    const current = () => this.#peer === peer;
    connection.addEventListener('track', ({detail}) => {
      if (current()) this.dispatchEvent(new CustomEvent('track', {detail}));
    });
    connection.addEventListener('open', () => {
      if (current()) this.#emit('connected');
    });
    connection.addEventListener('message', ({detail}) => {
      if (current()) this.dispatchEvent(new CustomEvent('message', {detail: {from: peer.name, message: detail}}));
    });
    // gone without a goodbye (closed, crashed, or the connection broke): wait, and say hello again in case the
    // other tab is still there
    connection.addEventListener('close', () => {
      if (!current()) return;
      this.#hangUp();
      this.#emit('waiting', peer.name);
      this.#post({type: 'hello', name: this.#name});
    });
    this.#emit('connecting');
    if (this.#id > id) {
      connection.offer().catch((error) => console.error('gesture-reactions call: offer', error));
    }
  }

  #hangUp() {
    this.#peer?.connection.close();
    this.#peer = null;
  }

  #post(message) {
    this.#channel?.postMessage({...message, from: this.#id});
  }

  #emit(state, left = null) {
    this.dispatchEvent(new CustomEvent('state', {detail: {state, peer: this.#peer?.name ?? null, left}}));
  }
}
