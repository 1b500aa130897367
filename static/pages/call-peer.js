/**
 * The /call page's connection to the other participant: one RTCPeerConnection carrying this tab's camera both ways
 * and an RTCDataChannel for reactions. Its offers, answers and ICE candidates go through `send` (the room's
 * signalling, call-room.js); it receives the other side's through `signal`.
 *
 * Events: 'track' ({detail: MediaStream}), 'open', 'message' ({detail: the parsed JSON}), 'close' (the data channel
 * closed or the connection failed: the other tab is gone).
 */

export class CallPeer extends EventTarget {
  #connection;
  #channel;
  #send;

  /**
   * @param {MediaStream} stream this tab's camera
   * @param {(message: object) => void} send posts a signalling message to the other participant
   */
  constructor(stream, send) {
    super();
    this.#send = send;
    // no ICE servers: both tabs are on this machine, so host candidates reach, and nothing goes to a STUN server.
    // Chromium gives them by IP address, not as mDNS .local names, because the page has camera permission.
    const connection = this.#connection = new RTCPeerConnection();
    for (const track of stream.getTracks()) connection.addTrack(track, stream);
    // negotiated on both sides with the same id: no 'datachannel' event to wait for, whoever offers
    const channel = this.#channel = connection.createDataChannel('reactions', {negotiated: true, id: 0});
    channel.addEventListener('open', () => this.dispatchEvent(new Event('open')));
    channel.addEventListener('close', () => this.dispatchEvent(new Event('close')));
    channel.addEventListener('message', ({data}) => this.#receive(data));
    connection.addEventListener('icecandidate', ({candidate}) => {
      if (candidate) send({type: 'candidate', candidate: candidate.toJSON()});
    });
    connection.addEventListener('track', ({streams: [remote]}) => {
      this.dispatchEvent(new CustomEvent('track', {detail: remote}));
    });
    connection.addEventListener('connectionstatechange', () => {
      if (connection.connectionState === 'failed') this.dispatchEvent(new Event('close'));
    });
  }

  get open() {
    return this.#channel.readyState === 'open';
  }

  /** Start the connection: this side's offer. */
  async offer() {
    await this.#connection.setLocalDescription();
    this.#send({type: 'description', description: this.#connection.localDescription.toJSON()});
  }

  /**
   * A signalling message from the other participant. Called in the order they came: each call reaches the
   * connection at once, and the connection runs them in that order (an ICE candidate waits for the description
   * before it).
   */
  async signal({description, candidate}) {
    const connection = this.#connection;
    if (candidate) {
      await connection.addIceCandidate(candidate);
    } else if (description) {
      await connection.setRemoteDescription(description);
      if (description.type === 'offer') {
        await connection.setLocalDescription();
        this.#send({type: 'description', description: connection.localDescription.toJSON()});
      }
    }
  }

  /** Send a JSON message over the data channel; false when it is not open (yet, or any more). */
  send(message) {
    if (!this.open) return false;
    this.#channel.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.#channel.close();
    this.#connection.close();
  }

  #receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // not ours: the other side only sends JSON
    }
    this.dispatchEvent(new CustomEvent('message', {detail: message}));
  }
}
