'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription.html');
