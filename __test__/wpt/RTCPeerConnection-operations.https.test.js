'use strict';

require('./runner/suite')('RTCPeerConnection-operations.https.html');
