'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription.html');
