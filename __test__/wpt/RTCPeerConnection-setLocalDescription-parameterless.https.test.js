'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription-parameterless.https.html');
