'use strict';

require('./runner/suite')('RTCPeerConnection-ontrack.https.html');
