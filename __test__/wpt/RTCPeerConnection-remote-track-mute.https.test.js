'use strict';

require('./runner/suite')('RTCPeerConnection-remote-track-mute.https.html');
