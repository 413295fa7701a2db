'use strict';

require('./runner/suite')('RTCPeerConnection-onsignalingstatechanged.https.html');
